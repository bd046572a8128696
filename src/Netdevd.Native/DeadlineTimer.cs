namespace Netdevd.Native;

/// <summary>
/// A one-shot timer on the monotonic clock that is a descriptor (timerfd): put in an event loop's
/// epoll set, its expiry wakes that loop's own thread, and arming it is one system call on the
/// arming thread that wakes no one. A timer of System.Threading does both through .NET's timer
/// thread: woken whenever a deadline comes earlier than the one it waits for, and hopping to the
/// loop's thread at every expiry.
/// </summary>
/// <remarks>
/// Its owner disposes it once nothing arms or consumes it any more (the user netdev's poller, after
/// its I/O thread is done): an arming that raced the close could reach whatever file took the
/// number since. An arming after the disposal does nothing.
/// </remarks>
public sealed class DeadlineTimer : IDisposable
{
    private int _disposed;

    /// <summary>Makes the timer, disarmed; throws <see cref="IOException"/> with the reason when the kernel refuses.</summary>
    public DeadlineTimer()
    {
        Fd = Libc.TimerFdCreate(Libc.CLOCK_MONOTONIC, Libc.TFD_NONBLOCK | Libc.TFD_CLOEXEC);
        if (Fd < 0)
        {
            throw new IOException($"timerfd_create: {Errno.Message(Errno.Last)}");
        }
    }

    /// <summary>The descriptor to poll for input: readable once the timer expired, until <see cref="Consume"/>.</summary>
    public int Fd { get; }

    /// <summary>
    /// Arms the timer to expire <paramref name="dueMs"/> milliseconds from now, replacing any earlier
    /// arming; a due time of 0 or less expires at once (the kernel reads a zero expiry as "disarm").
    /// </summary>
    public void Arm(long dueMs)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var nanoseconds = dueMs <= 0 ? 1 : Math.Min(dueMs, long.MaxValue / 1_000_000) * 1_000_000;
        if (Libc.TimerFdSetRelative(Fd, nanoseconds) != 0)
        {
            throw new IOException($"timerfd_settime: {Errno.Message(Errno.Last)}");
        }
    }

    /// <summary>Takes the expiry (the waiter, when <see cref="Fd"/> was readable); false when there was none to take.</summary>
    public bool Consume()
    {
        Span<byte> expirations = stackalloc byte[8];
        return Libc.Read(Fd, expirations) == expirations.Length;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Libc.Close(Fd);
        }
    }
}
