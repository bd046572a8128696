using Microsoft.Extensions.Logging;
using Netdevd.Backends.Io;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Dgram;

/// <summary>
/// A netdev over a datagram socket, one frame per datagram, no header (QEMU's NetDgramState and
/// the datagram half of NetSocketState). Used by <c>dgram</c> for every mode, by the legacy
/// <c>socket</c> netdev for <c>mcast=</c>, <c>udp=</c> and datagram <c>fd=</c>, and by <c>vde</c>
/// for its data socket. Everything but the framing is <see cref="DatagramSocketClient"/>'s.
/// </summary>
public sealed class DatagramNetClient : DatagramSocketClient
{
    private int _companionFd;

    /// <summary>
    /// Takes ownership of <paramref name="fd"/>, a non-blocking datagram socket already bound (or
    /// connected) as the mode wants, and starts polling it once a peer is attached.
    /// </summary>
    /// <param name="name">The netdev id.</param>
    /// <param name="driver">Dgram, Socket or Vde.</param>
    /// <param name="fd">The socket; closed when the client is disposed.</param>
    /// <param name="destination">Where frames go (sendto); null to send() on a connected socket.</param>
    /// <param name="info">QEMU's info_str for this mode.</param>
    /// <param name="logger">For rare socket conditions; none if null.</param>
    /// <param name="companionFd">
    /// A descriptor that must live as long as this one and is closed with it, e.g. a vde port's
    /// control stream (the switch frees the port when it closes); -1 for none.
    /// </param>
    /// <param name="pool">The I/O threads to run on; <see cref="IoThreadPool.Default"/> if null.</param>
    /// <param name="startPolling">
    /// False to leave the socket off the I/O thread until <see cref="Start"/>: a vde port's is
    /// not connected before the handshake, and nothing may read it or take its errors for the
    /// far end's until then.
    /// </param>
    public DatagramNetClient(string name, NetClientDriver driver, int fd, SockAddr? destination, string info, ILogger? logger = null, int companionFd = -1, IoThreadPool? pool = null, bool startPolling = true)
        : base(name, driver, fd, destination, new DatagramCounters(), logger, pool)
    {
        _companionFd = companionFd;
        Info = info ?? "";
        if (startPolling)
        {
            StartPolling();
        }
    }

    /// <summary>Puts the socket on its I/O thread, for a client made with <c>startPolling: false</c>; once.</summary>
    internal void Start() => StartPolling();

    private protected override void OnSocketClosed()
    {
        if (_companionFd >= 0)
        {
            _ = Libc.Close(_companionFd);
            _companionFd = -1;
        }
    }
}
