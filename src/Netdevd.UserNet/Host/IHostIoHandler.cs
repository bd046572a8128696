namespace Netdevd.UserNet.Host;

/// <summary>A host socket registered with the <see cref="HostPoller"/>.</summary>
internal interface IHostIoHandler
{
    /// <summary>
    /// The socket reported <paramref name="events"/> (EPOLLIN, EPOLLOUT, EPOLLERR...). Called under
    /// the engine lock on the netdev's I/O thread; only records readiness and queues the socket for
    /// the engine's host pass, never calls into the stack itself.
    /// </summary>
    void OnReady(uint events);
}
