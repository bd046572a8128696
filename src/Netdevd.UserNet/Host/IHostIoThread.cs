namespace Netdevd.UserNet.Host;

/// <summary>
/// Where a user netdev's host I/O runs: one thread that calls back whenever the netdev's epoll
/// descriptor is readable (the daemon places it on an I/O thread beside the other backends, so
/// with shared I/O threads the user netdev and its peer exchange frames without waking another
/// thread). Without one the netdev runs a thread of its own.
/// </summary>
public interface IHostIoThread : IDisposable
{
    /// <summary>Starts calling <paramref name="ready"/>, always on the same thread, each time <paramref name="fd"/> is readable.</summary>
    void Start(int fd, Action ready);
}
