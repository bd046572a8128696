using Netdevd.Core.Clients;
using Netdevd.UserNet.Interface;

namespace Netdevd.UserNet.Host;

/// <summary>
/// Runs a <see cref="UserStack"/> against real sockets. One lock serialises the stack; the
/// netdev's I/O thread waits on the epoll set of all its host sockets (<see cref="HostPoller"/>)
/// and is the only thread that runs host I/O completions and timers (guest frames are processed on
/// the thread that delivers them, as QEMU's main loop does). Which thread that is may change (the
/// daemon's follows the guest's frames, <see cref="IHostIoThread.FollowCaller"/>), one at a time.
/// Host work is queued as events and run after each pass of the stack (<see cref="RunHostWork"/>),
/// never from inside one; frames for the guest queue up under the lock and are delivered after it
/// is released (<see cref="Flush"/>); one timer is armed for the stack's earliest deadline, so an
/// idle netdev wakes no one. On the system clock that timer is the host poller's timerfd: arming
/// it wakes no other thread and its expiry wakes the I/O thread itself. Through a timer of
/// System.Threading (still used on another clock: tests' fake time), every deadline earlier than
/// the armed one woke .NET's timer thread, which took the CPU from the request it was armed for
/// (a new flow's first request and answer, 20-30 µs: bench/user/nat-rr.sh), and every expiry
/// hopped from that thread to the I/O thread.
/// </summary>
internal sealed class UserNetEngine : IDisposable
{
    private readonly IGuestPort _guest;
    /// <summary>The timer on a clock other than the system's (tests' fake time); null on the system clock, whose timer is the poller's.</summary>
    private readonly ITimer? _timer;
    private readonly Thread? _thread;
    private readonly IHostIoThread? _ioThread;
    private int _ioThreadId;
    private readonly Queue<HostWork> _work = new(256);
    /// <summary>Host work waiting for a time on the stack clock (a listener's retry after a failed accept).</summary>
    private readonly List<(HostWork Work, long AtMs)> _later = [];
    private long _armedAt = long.MaxValue;
    private volatile bool _timerDue;
    private volatile bool _disposed;
    private int _draining;

    public UserNetEngine(UserStackOptions options, IGuestPort guest, TimeProvider time, Func<UserNetEngine, IFrameSink, UserStack> createStack,
        IHostIoThread? ioThread = null, int maxQueuedFrames = 8192)
    {
        _guest = guest;
        Budget = new MemoryBudget(options.Limits.MemoryLimit);
        Output = new GuestOutputQueue(maxQueuedFrames, Budget);
        Poller = new HostPoller();
        Stack = createStack(this, Output);
        Host = new HostSockets(this);
        Stack.AttachHost(Host);
        Stack.AttachIcmpv6Host(Host);
        if (ReferenceEquals(time, TimeProvider.System))
        {
            Poller.StartTimer();
        }
        else
        {
            _timer = time.CreateTimer(static s => ((UserNetEngine)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        _ioThread = ioThread;
        if (ioThread is null)
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "user-io" };
            _thread.Start();
        }
        else
        {
            ioThread.Start(Poller.Fd, RunReady);
        }
    }

    public Lock Lock { get; } = new();

    public UserStack Stack { get; }

    /// <summary>What the netdev may hold for its guest; shared by the stack and the output queue.</summary>
    public MemoryBudget Budget { get; }

    public GuestOutputQueue Output { get; }

    public HostSockets Host { get; }

    /// <summary>The epoll set of the netdev's host sockets.</summary>
    public HostPoller Poller { get; }

    /// <summary>Where TCP forwards' loopback clients go instead of the guest's link, if anywhere (pasta's splice).</summary>
    /// <summary>Set under <see cref="Lock"/>; a splice gets <see cref="SpliceReturns"/> to give clients back through.</summary>
    public ILoopbackSplice? LoopbackSplice
    {
        get;
        set
        {
            field = value;
            if (value is not null && !_disposed)
            {
                SpliceReturns ??= new SpliceReturns(this);
            }
        }
    }

    /// <summary>Where the splice's given-back clients reach the I/O thread (once a splice is set).</summary>
    public SpliceReturns? SpliceReturns { get; private set; }

    /// <summary>One receive buffer for every datagram socket of the netdev (used under <see cref="Lock"/>).</summary>
    public byte[] DatagramBuffer { get; } = new byte[65536];

    /// <summary>The managed id of the netdev's I/O thread once it ran (for tests and assertions).</summary>
    public int IoThreadId => Volatile.Read(ref _ioThreadId);

    /// <summary>How often the timer ran the stack's timers (tests: an idle netdev must not tick).</summary>
    public long TimerRuns { get; private set; }

    /// <summary>
    /// For an exception filter at an entry point of the stack (a socket completion, a receive loop,
    /// the timer): counts the fault on the user netdev, logs the first, and says whether to swallow
    /// it, so that one bad input never ends the process or the loop that serves the netdev.
    /// </summary>
    public bool ContainFault(Exception fault, object layer) => _guest.ContainFault(fault, layer);

    /// <summary>Queues host work to run after the current pass (under <see cref="Lock"/>); a queued item is not queued twice.</summary>
    public void Queue(HostWork work)
    {
        if (!work.Queued)
        {
            work.Queued = true;
            _work.Enqueue(work);
        }
    }

    /// <summary>
    /// Call under <see cref="Lock"/>: queues <paramref name="work"/> once the stack clock reaches
    /// <paramref name="atMs"/>, through the netdev's one timer (armed for the earliest of these
    /// and the stack's deadlines), so a socket that must wait does so without a timer of its own
    /// and still runs on the I/O thread.
    /// </summary>
    public void QueueAt(HostWork work, long atMs)
    {
        _later.Add((work, atMs));
        ArmTimer();
    }

    /// <summary>
    /// Host work items run per pass before the frames they produced go out: each is at most one
    /// read or write, so the guest gets a host socket's data while the next read is still to come
    /// (reading a whole buffer before sending any of it starved the guest at large MTUs).
    /// </summary>
    private const int PassBudget = 4;

    /// <summary>
    /// Passes one round of the I/O thread runs at most (16 items of host work: 16 reads of a TCP
    /// flow, or up to 1024 datagrams, since a UDP item takes up to 64). A host socket
    /// that keeps receiving (a flood toward a guest's UDP flow) queues itself again after every
    /// batch, and the guest taking its frames slowly never lets it find EAGAIN: without a bound
    /// the round never ended, and a shared I/O thread (--io-threads, or the thread of the backend
    /// the host I/O followed) served nothing else, not even the close of a deleted netdev. What
    /// is left runs in the next round: a wake keeps the epoll descriptor readable.
    /// </summary>
    private const int RoundPasses = 4;

    /// <summary>
    /// Call under <see cref="Lock"/> after a pass of the stack: runs queued host work (each item
    /// may queue more through the stack), up to a budget, and re-arms the timer for the earliest
    /// deadline. What is left over is handed to the I/O thread, which runs it after delivering
    /// the frames of this pass.
    /// </summary>
    public void RunHostWork()
    {
        if (RunHostWork(PassBudget))
        {
            Poller.Wake();
        }
    }

    /// <summary>
    /// Call under <see cref="Lock"/> for a frame inside the sender's batch: runs queued host work
    /// like <see cref="RunHostWork()"/> but leaves the timer and what is left over to the batch's
    /// end, which runs <see cref="RunHostWorkAtBatchEnd"/>. Arming here armed the stack's 10 ms
    /// service tick for the connections the batch deferred (serviced at its end anyway) once per
    /// batch, and that tick then woke the I/O thread for nothing.
    /// </summary>
    public void RunHostWorkInBatch() => _ = RunHostWork(PassBudget, armTimer: false);

    /// <summary>
    /// Call under <see cref="Lock"/> at the end of the sender's batch: runs queued host work like
    /// <see cref="RunHostWork()"/> but leaves the timer to the caller, which arms it after
    /// delivering the batch's answers (taking the stack's deadline visits every service and table
    /// that may have one: a ping of the gateway no longer waits for it before its answer goes out).
    /// What is left over is handed to the I/O thread.
    /// </summary>
    public void RunHostWorkAtBatchEnd()
    {
        if (RunHostWork(PassBudget, armTimer: false))
        {
            Poller.Wake();
        }
    }

    /// <summary>Runs up to <paramref name="budget"/> items of host work; true when more is queued.</summary>
    private bool RunHostWork(int budget, bool armTimer = true)
    {
        while (budget-- > 0 && _work.TryDequeue(out var work))
        {
            work.Queued = false;
            try
            {
                work.Run();
            }
            catch (Exception e) when (ContainFault(e, work))
            {
                // This socket's event is dropped (counted on the netdev); the others still run.
            }
        }

        if (armTimer)
        {
            ArmTimer();
        }

        return _work.Count > 0;
    }

    /// <summary>Call under <see cref="Lock"/>: arms the timer if the stack has a deadline before the armed one.</summary>
    public void ArmTimer()
    {
        var next = Stack.TakeDeadline();
        foreach (var (_, at) in _later)
        {
            next = Math.Min(next, at);
        }

        if (next >= _armedAt || _disposed)
        {
            return;
        }

        _armedAt = next;
        var due = Math.Max(0, next - Stack.NowMs);
        if (_timer is null)
        {
            Poller.ArmTimer(due);
        }
        else
        {
            _timer.Change(TimeSpan.FromMilliseconds(due), Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// The guest's frames were handled on the caller's thread (at the end of a batch): the host
    /// I/O may follow them there (<see cref="IHostIoThread.FollowCaller"/>).
    /// </summary>
    public void FollowGuestThread() => _ioThread?.FollowCaller();

    /// <summary>What a guest's frame and its answer touch here: the engine, its lock and work queue, the stack, the output queue, the memory budget.</summary>
    public void CollectHot(HotObjects hot)
    {
        hot.Add(this);
        hot.Add(Lock);
        hot.Add(_work);
        hot.Add(Budget);
        Stack.CollectHot(hot);
        Output.CollectHot(hot);
    }

    /// <summary>Call after releasing <see cref="Lock"/>: delivers queued frames to the guest.</summary>
    public void Flush() => Drain();

    /// <summary>Has the I/O thread deliver queued frames (when the caller may not send, e.g. inside Receive).</summary>
    public void ScheduleFlush()
    {
        Poller.Wake(); // the I/O thread drains after every round
    }

    private void OnTimer()
    {
        _timerDue = true;
        Poller.Wake();
    }

    /// <summary>The netdev's own I/O thread: waits for host events and timers, then runs a round.</summary>
    private void Run()
    {
        while (!_disposed)
        {
            Round(-1);
        }
    }

    /// <summary>The shared I/O thread saw the epoll descriptor readable: run a round without waiting.</summary>
    private void RunReady() => Round(0);

    private void Round(int timeoutMs)
    {
        _ioThreadId = Environment.CurrentManagedThreadId;
        try
        {
            var n = Poller.Wait(timeoutMs);
            if (_disposed)
            {
                return;
            }

            bool more;
            lock (Lock)
            {
                if (_disposed)
                {
                    return;
                }

                if (n > 0)
                {
                    Poller.Dispatch(n);
                }

                if (Poller.TakeTimerExpiry() | _timerDue)
                {
                    _timerDue = false;
                    _armedAt = long.MaxValue;
                    TimerRuns++;
                    Stack.Poll();
                    QueueDue();
                }

                more = RunHostWork(PassBudget);
            }

            Drain();

            // Passes of host work, each followed by the delivery of its frames, until none is
            // left or the round's budget is spent.
            for (var passes = 1; more && !_disposed; passes++)
            {
                if (passes == RoundPasses)
                {
                    Poller.Wake();
                    break;
                }

                lock (Lock)
                {
                    more = !_disposed && RunHostWork(PassBudget);
                }

                Drain();
            }
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // The I/O thread must not end; the next round goes on.
        }
    }

    /// <summary>Under <see cref="Lock"/>, when the timer fired: queues the waiting host work whose time has come.</summary>
    private void QueueDue()
    {
        if (_later.Count == 0)
        {
            return;
        }

        var now = Stack.NowMs;
        for (var i = _later.Count - 1; i >= 0; i--)
        {
            if (_later[i].AtMs <= now)
            {
                Queue(_later[i].Work);
                _later.RemoveAt(i);
            }
        }
    }

    private void Drain()
    {
        // One drainer at a time keeps the frames in order; a producer that finds the drainer busy
        // leaves its frames to it, and the drainer re-checks after letting go.
        while (Interlocked.Exchange(ref _draining, 1) == 0)
        {
            // What is queued now goes out as one batch: a tap peer can merge the segments of a
            // flow into one offloaded write instead of one write per 1500-byte frame.
            _guest.BeginBatch();
            try
            {
                while (Output.TryDequeue(out var buffer, out var length, out var checksum, out var body1, out var body2))
                {
                    if (body1.Count + body2.Count == 0)
                    {
                        _guest.Deliver(buffer, length, checksum);
                    }
                    else
                    {
                        _guest.DeliverGather(buffer, length, checksum, body1, body2);
                    }

                    Output.Return(buffer);
                }
            }
            finally
            {
                // Released even after a fault, or no frame would ever reach the guest again.
                _guest.EndBatch();
                Volatile.Write(ref _draining, 0);
            }

            if (Output.IsEmpty)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        lock (Lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _timer?.Dispose();
            SpliceReturns?.Dispose();
            Host.Dispose();
            Stack.Dispose();
        }

        Poller.Wake();
        if (_thread is not null && Environment.CurrentManagedThreadId != _thread.ManagedThreadId)
        {
            _thread.Join();
        }

        // Off the I/O thread this returns once no round runs any more.
        _ioThread?.Dispose();

        Poller.Dispose();
        Output.Clear();
    }
}
