using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The user netdev's host sockets in one epoll set (edge-triggered: a socket is reported once per
/// change and its owner keeps the readiness until EAGAIN), plus an eventfd that wakes the I/O
/// thread for timers and for work queued from other threads. One descriptor stands for all the
/// netdev's sockets, so one I/O thread serves any number of flows.
/// </summary>
internal sealed class HostPoller : IDisposable
{
    private const ulong WakeToken = 0;
    private readonly int _epoll;
    private readonly WakeEvent _wake;
    private readonly EpollEvent[] _events = new EpollEvent[64];
    private readonly Stack<int> _freeTokens = new();
    private IHostIoHandler?[] _handlers = new IHostIoHandler?[64];
    private int _nextToken = 1;
    private bool _disposed;

    public HostPoller()
    {
        _epoll = WakeEvent.CreateEpoll(WakeToken, out _wake);
    }

    /// <summary>The epoll descriptor: readable whenever a registered socket or a wake is pending.</summary>
    public int Fd => _epoll;

    /// <summary>
    /// Adds <paramref name="fd"/> edge-triggered for input, output and errors; the token unregisters
    /// it. Under the engine lock, like every use of the set: events are dispatched under it too.
    /// </summary>
    public int Register(int fd, IHostIoHandler handler, bool output = true) =>
        Register(fd, handler, Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLET | (output ? Libc.EPOLLOUT : 0));

    /// <summary>
    /// Adds <paramref name="fd"/> for <paramref name="events"/> (with <see cref="Libc.EPOLLONESHOT"/>
    /// the owner re-arms it through <see cref="Rearm"/> after each report).
    /// </summary>
    public int Register(int fd, IHostIoHandler handler, uint events)
    {
        var token = _freeTokens.Count > 0 ? _freeTokens.Pop() : _nextToken++;
        if (token >= _handlers.Length)
        {
            Array.Resize(ref _handlers, _handlers.Length * 2);
        }

        // The handler first: the socket may be reported as soon as it is added.
        _handlers[token] = handler;
        if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, fd, events, (ulong)token) < 0)
        {
            var errno = Errno.Last;
            _handlers[token] = null;
            _freeTokens.Push(token);
            throw new IOException($"epoll_ctl: {Errno.Message(errno)}");
        }

        return token;
    }

    /// <summary>
    /// Arms a one-shot registration again for <paramref name="events"/> (under the engine lock);
    /// false when the kernel refused (the descriptor is gone).
    /// </summary>
    public bool Rearm(int fd, int token, uint events) =>
        Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_MOD, fd, events | Libc.EPOLLONESHOT, (ulong)token) == 0;

    /// <summary>
    /// Forgets a socket (under the engine lock, before its descriptor is closed). An event of this
    /// round already collected for the token may reach the token's next owner: owners treat a
    /// readiness report as a hint, and a spurious one costs one EAGAIN.
    /// </summary>
    public void Unregister(int fd, int token)
    {
        if (token <= 0 || token >= _handlers.Length || _handlers[token] is null)
        {
            return;
        }

        _ = Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_DEL, fd, 0, 0);
        _handlers[token] = null;
        _freeTokens.Push(token);
    }

    /// <summary>Wakes the thread waiting in <see cref="Wait"/> (any thread; coalesced).</summary>
    public void Wake() => _wake.Signal();

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1: until something happens) for events; their count, or -1 on EINTR.</summary>
    public int Wait(int timeoutMs)
    {
        var n = Libc.EpollWait(_epoll, _events, timeoutMs);
        if (n < 0 && Errno.Last != Errno.EINTR)
        {
            throw new IOException($"epoll_wait: {Errno.Message(Errno.Last)}");
        }

        return n;
    }

    /// <summary>
    /// Hands the events of the last <see cref="Wait"/> to their handlers (under the engine lock);
    /// true when the wake descriptor was among them.
    /// </summary>
    public bool Dispatch(int count)
    {
        var woken = false;
        for (var i = 0; i < count; i++)
        {
            var token = _events[i].Data;
            if (token == WakeToken)
            {
                _wake.Consume();
                woken = true;
                continue;
            }

            if (token < (ulong)_handlers.Length && _handlers[token] is { } handler)
            {
                handler.OnReady(_events[i].Events);
            }
        }

        return woken;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _wake.Dispose();
        Libc.Close(_epoll);
    }
}
