using Netdevd.UserNet.Interface;

namespace Netdevd.UserNet.Host;

/// <summary>
/// Runs a <see cref="UserStack"/> against real sockets: one lock serialises the stack (guest input,
/// socket completions, timers), frames for the guest queue up under it and are delivered after it
/// is released (<see cref="Flush"/>), and one timer ticks while any flow needs it.
/// </summary>
internal sealed class UserNetEngine : IDisposable, IThreadPoolWorkItem
{
    /// <summary>TCP's RTO floor is 200 ms and delayed ACKs are not used, so 10 ms ticks are plenty.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private readonly IGuestPort _guest;
    private readonly ITimer _timer;
    private int _draining;
    private int _drainScheduled;
    private bool _timerRunning;
    private bool _disposed;

    public UserNetEngine(UserStackOptions options, IGuestPort guest, TimeProvider time, Func<UserNetEngine, IFrameSink, UserStack> createStack, int maxQueuedFrames = 8192)
    {
        _guest = guest;
        Budget = new MemoryBudget(options.Limits.MemoryLimit);
        Output = new GuestOutputQueue(maxQueuedFrames, Budget);
        Stack = createStack(this, Output);
        Host = new HostSockets(this);
        Stack.AttachHost(Host);
        Stack.AttachIcmpv6Host(Host);
        _timer = time.CreateTimer(static s => ((UserNetEngine)s!).OnTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        ArmIdleWakeup();
    }

    public Lock Lock { get; } = new();

    public UserStack Stack { get; }

    /// <summary>What the netdev may hold for its guest; shared by the stack and the output queue.</summary>
    public MemoryBudget Budget { get; }

    public GuestOutputQueue Output { get; }

    public HostSockets Host { get; }

    /// <summary>
    /// For an exception filter at an entry point of the stack (a socket completion, a receive loop,
    /// the timer): counts the fault on the user netdev, logs the first, and says whether to swallow
    /// it, so that one bad input never ends the process or the loop that serves the netdev.
    /// </summary>
    public bool ContainFault(Exception fault, object layer) => _guest.ContainFault(fault, layer);

    /// <summary>Call under <see cref="Lock"/> after touching the stack: keeps the timer running while needed.</summary>
    public void ArmTimer()
    {
        if (!_timerRunning && !_disposed && Stack.HasTimers)
        {
            _timerRunning = true;
            _timer.Change(Tick, Tick);
        }
    }

    /// <summary>Call after releasing <see cref="Lock"/>: arms the timer and delivers queued frames to the guest.</summary>
    public void Flush()
    {
        if (!_timerRunning && Stack.HasTimers)
        {
            lock (Lock)
            {
                ArmTimer();
            }
        }

        Drain();
    }

    /// <summary>Delivers queued frames from a pool thread (when the caller may not send, e.g. inside Receive).</summary>
    public void ScheduleFlush()
    {
        if (Interlocked.Exchange(ref _drainScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        Volatile.Write(ref _drainScheduled, 0);
        try
        {
            Flush();
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // A pool thread must not end the process; the next flush delivers what is left.
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
                while (Output.TryDequeue(out var buffer, out var length))
                {
                    _guest.Deliver(buffer.AsSpan(0, length));
                    GuestOutputQueue.Return(buffer);
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

    private void OnTick()
    {
        try
        {
            PollStack();
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // A timer callback must not end the process; the next tick goes on.
        }
    }

    private void PollStack()
    {
        lock (Lock)
        {
            if (_disposed)
            {
                return;
            }

            Stack.Poll();
            if (!Stack.HasTimers)
            {
                _timerRunning = false;
                ArmIdleWakeup();
            }
        }

        Drain();
    }

    /// <summary>No tick while idle: one shot at the stack's next idle work (IPv6's periodic router advertisement), if any.</summary>
    private void ArmIdleWakeup()
    {
        var wakeup = Stack.IdleWakeupMs;
        _timer.Change(wakeup == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(1, wakeup - Stack.NowMs)), Timeout.InfiniteTimeSpan);
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
            _timer.Dispose();
            Host.Dispose();
            Stack.Dispose();
        }

        Output.Clear();
    }
}
