using Netdevd.Native;

namespace Netdevd.Backends.Dgram;

/// <summary>A datagram socket set up for one dgram mode: what <see cref="DatagramNetClient"/> is built from.</summary>
/// <param name="Fd">The non-blocking socket, owned by whoever holds this.</param>
/// <param name="Destination">Where frames go; null to send() on a connected descriptor.</param>
/// <param name="Info">QEMU's info_str for the mode.</param>
internal readonly record struct DgramSocket(int Fd, SockAddr? Destination, string Info);
