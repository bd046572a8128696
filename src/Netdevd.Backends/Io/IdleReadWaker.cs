using Netdevd.Native;

namespace Netdevd.Backends.Io;

/// <summary>
/// The one thread that listens, for every I/O thread waiting in an idle read (see
/// <see cref="IoThread"/>), to everything else that thread serves: each such thread's epoll set is
/// in the waker's own set, armed only for the time of the read. When one reports (a host socket,
/// a timer, a post or an interest change through the thread's eventfd, another loop's descriptor),
/// the waker interrupts the read with <see cref="ReadInterrupt"/>'s signal, and sends it again,
/// each time after a longer pause, until the thread says it is out of the read: a signal that
/// lands between the thread's arming and the read itself interrupts nothing, the next one does.
/// </summary>
/// <remarks>
/// What this costs: something that reports for a thread in an idle read reaches it through one
/// more wake-up (the waker's) and a signal, 23-31 µs later than through epoll; a frame from the tap
/// reaches it through one system call instead of two, with no epoll wait queue between. So a
/// thread reads idle only after its tap ended its last sleep (bench/README, session 40).
/// </remarks>
internal sealed class IdleReadWaker
{
    /// <summary>The first pause before a signal is sent again; doubled up to <see cref="LongestPauseUs"/>.</summary>
    private const int FirstPauseUs = 20;

    private const int LongestPauseUs = 1000;

    /// <summary>
    /// Signals one interruption may take before the waker stops letting threads read idle (about
    /// a second at the longest pause; a thread is out of its read after one or two).
    /// </summary>
    private const int Patience = 1000;

    private static readonly Lazy<IdleReadWaker?> s_instance = new(Create);

    private readonly int _epoll;
    private readonly int _signal;
    private readonly Lock _gate = new();
    private readonly EpollEvent[] _events = new EpollEvent[16];

    /// <summary>The threads by the token their events carry (0 unused); replaced, never changed in place, under <c>_gate</c>.</summary>
    private volatile IoThread?[] _threads = [null];

    private volatile bool _failed;

    private IdleReadWaker(int epoll, int signal)
    {
        _epoll = epoll;
        _signal = signal;
    }

    /// <summary>The process's waker, started on first use; null when the signal or the epoll set could not be had (idle reads stay off).</summary>
    public static IdleReadWaker? Instance => s_instance.Value;

    /// <summary>Whether threads may still wait in idle reads (false once the waker's own wait failed).</summary>
    public bool Usable => !_failed;

    /// <summary>The signal that interrupts a thread's idle read (the thread unblocks it for itself).</summary>
    public int Signal => _signal;

    private static IdleReadWaker? Create()
    {
        if (!ReadInterrupt.TryInstall())
        {
            return null;
        }

        var epoll = Libc.EpollCreate(Libc.EPOLL_CLOEXEC);
        if (epoll < 0)
        {
            return null;
        }

        var waker = new IdleReadWaker(epoll, ReadInterrupt.Signal);
        new Thread(waker.Run) { IsBackground = true, Name = "idle-read-waker" }.Start();
        return waker;
    }

    /// <summary>Adds <paramref name="thread"/>'s epoll set, disarmed: its token, or 0 when the kernel refused it.</summary>
    public int Join(IoThread thread, int threadEpoll)
    {
        lock (_gate)
        {
            var next = SlotTable.With(_threads, thread, out var token);
            if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, threadEpoll, Libc.EPOLLONESHOT, (ulong)token) != 0)
            {
                return 0;
            }

            _threads = next;
            return token;
        }
    }

    /// <summary>Takes a thread's set out, before the thread closes it.</summary>
    public void Leave(int token, int threadEpoll)
    {
        lock (_gate)
        {
            _ = Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_DEL, threadEpoll, 0, 0);
            _threads = SlotTable.Without(_threads, token);
        }
    }

    /// <summary>Thread, before its idle read: anything its set reports from now on interrupts the read. False when the kernel refused.</summary>
    public bool Arm(int token, int threadEpoll) => Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_MOD, threadEpoll, Libc.EPOLLIN | Libc.EPOLLONESHOT, (ulong)token) == 0;

    /// <summary>Thread, after its idle read: its set's events are its own again.</summary>
    public void Disarm(int token, int threadEpoll) => _ = Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_MOD, threadEpoll, Libc.EPOLLONESHOT, (ulong)token);

    private void Run()
    {
        while (true)
        {
            var n = Libc.EpollWaitOrErrno(_epoll, _events, -1);
            if (n == -Errno.EINTR)
            {
                continue;
            }

            if (n < 0)
            {
                // Never seen (the set is the waker's own and stays open): stop being relied on, and
                // free every thread that may be waiting for this waker.
                _failed = true;
                foreach (var thread in _threads)
                {
                    _ = thread?.InterruptIdleRead(_signal, FirstPauseUs, LongestPauseUs, Patience);
                }

                return;
            }

            var threads = _threads;
            for (var i = 0; i < n; i++)
            {
                var token = (int)_events[i].Data;
                if (token > 0 && token < threads.Length
                    && threads[token]?.InterruptIdleRead(_signal, FirstPauseUs, LongestPauseUs, Patience) == false)
                {
                    // The read went on regardless for about a second: no thread reads idle from
                    // now on (the one stuck in it wakes with its tap's next frame).
                    _failed = true;
                }
            }
        }
    }
}
