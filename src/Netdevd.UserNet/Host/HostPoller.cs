using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The user netdev's host sockets in one epoll set (edge-triggered: a socket is reported once per
/// change and its owner keeps the readiness until EAGAIN), plus an eventfd that wakes the I/O
/// thread for work queued from other threads and, on the system clock, the netdev's one timer
/// (<see cref="StartTimer"/>). One descriptor stands for all the netdev's sockets and its timer,
/// so one I/O thread serves any number of flows and wakes for its deadlines by itself.
/// </summary>
internal sealed class HostPoller : IDisposable
{
    private const ulong WakeToken = 0;

    /// <summary>The timer's token: above every socket's (they count up from 1).</summary>
    private const ulong TimerToken = ulong.MaxValue;
    private readonly int _epoll;
    private readonly WakeEvent _wake;
    private readonly EpollEvent[] _events = new EpollEvent[64];
    private readonly Stack<int> _freeTokens = new();
    private IHostIoHandler?[] _handlers = new IHostIoHandler?[64];
    private int _nextToken = 1;
    private DeadlineTimer? _timer;
    private bool _timerExpired;
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

    /// <summary>
    /// Puts a timer on the system's monotonic clock in the set (once, before the I/O thread runs):
    /// <see cref="ArmTimer"/> then arms it and <see cref="TakeTimerExpiry"/> reports its expiry.
    /// </summary>
    public void StartTimer()
    {
        var timer = new DeadlineTimer();
        // Edge-triggered: each expiry is reported once, and Dispatch reads it anyway.
        if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, timer.Fd, Libc.EPOLLIN | Libc.EPOLLET, TimerToken) < 0)
        {
            var errno = Errno.Last;
            timer.Dispose();
            throw new IOException($"epoll_ctl: {Errno.Message(errno)}");
        }

        _timer = timer;
    }

    /// <summary>Arms the timer to expire <paramref name="dueMs"/> from now, replacing the last arming (under the engine lock).</summary>
    public void ArmTimer(long dueMs) => _timer?.Arm(dueMs);

    /// <summary>Whether the timer expired since the last call (under the engine lock, after <see cref="Dispatch"/>).</summary>
    public bool TakeTimerExpiry()
    {
        var expired = _timerExpired;
        _timerExpired = false;
        return expired;
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

            if (token == TimerToken)
            {
                _timerExpired |= _timer?.Consume() == true;
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
        _timer?.Dispose();
        _wake.Dispose();
        Libc.Close(_epoll);
    }
}
