namespace Netdevd.UserNet.Host;

/// <summary>
/// Where a user netdev's host I/O runs: one thread that calls back whenever the netdev's epoll
/// descriptor is readable (the daemon places it on an I/O thread beside the other backends, so
/// with shared I/O threads the user netdev and its peer exchange frames without waking another
/// thread). Without one the netdev runs a thread of its own.
/// </summary>
public interface IHostIoThread : IDisposable
{
    /// <summary>
    /// Starts calling <paramref name="ready"/> each time <paramref name="fd"/> is readable, on one
    /// thread at a time: a call ends before the next one starts, on whichever thread.
    /// </summary>
    void Start(int fd, Action ready);

    /// <summary>
    /// The guest's frames were just handled on the caller's thread. If that is an I/O thread, the
    /// host I/O may move onto it: the host's answers to those frames are then read by the thread
    /// that sent the questions, which has just run, instead of waking another. Cheap when nothing
    /// moves; never blocks.
    /// </summary>
    void FollowCaller();
}
