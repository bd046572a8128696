namespace Netdevd.UserNet.Host;

/// <summary>
/// Takes a TCP host forward's connection from a client on the host's loopback past the guest's
/// link, as pasta splices such connections to its namespace's loopback: the user netdev asks
/// before it opens a connection to the guest, and goes on with its own path when refused.
/// </summary>
public interface ILoopbackSplice
{
    /// <summary>
    /// Called on the user netdev's thread with the accepted, non-blocking descriptor of a loopback
    /// client of a forward to <paramref name="guestPort"/>; true when it took the descriptor (and
    /// now owns it), false to leave it to the guest's link.
    /// </summary>
    bool TrySplice(int fd, bool ipv6, int guestPort);
}
