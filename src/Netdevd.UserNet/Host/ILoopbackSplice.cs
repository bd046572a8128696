namespace Netdevd.UserNet.Host;

/// <summary>
/// Takes a TCP host forward's connection from a client on the host's loopback past the guest's
/// link, as pasta splices such connections to its namespace's loopback: the user netdev asks
/// before it opens a connection to the guest, and goes on with its own path when refused, at
/// once or later (through the <see cref="ISpliceFallback"/> it offered with the client).
/// </summary>
public interface ILoopbackSplice
{
    /// <summary>
    /// Called on the user netdev's thread with the accepted, non-blocking descriptor of a loopback
    /// client of a forward to <paramref name="guestPort"/>; true when it took the descriptor (and
    /// now owns it), false to leave it to the guest's link. A splice that took it but cannot join
    /// it after all (its connect was refused or timed out) gives it back through
    /// <paramref name="fallback"/> instead of closing it; it must never wait on the caller's thread.
    /// </summary>
    bool TrySplice(int fd, bool ipv6, int guestPort, ISpliceFallback fallback);
}

/// <summary>Where a loopback splice hands back a client it took but could not join.</summary>
public interface ISpliceFallback
{
    /// <summary>
    /// Any thread, at most once per descriptor taken: <paramref name="fd"/> is the fallback's
    /// again, to go the guest's way (or be closed when that way is gone).
    /// </summary>
    void GiveBack(int fd);
}
