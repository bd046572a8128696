using System.Net.Sockets;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// A host-side server a guest connection is handed to (QEMU's slirp_add_exec): each call starts
/// serving one connection and returns the netdev's end of it, already connected.
/// </summary>
public interface IConnectionService
{
    /// <summary>Throws <see cref="IOException"/> or <see cref="SocketException"/> when the server cannot take the connection (the guest's connect is refused).</summary>
    Socket Open();
}
