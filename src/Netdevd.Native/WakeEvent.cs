namespace Netdevd.Native;

/// <summary>
/// A non-blocking eventfd that wakes the one thread polling it. Signals from any thread coalesce
/// while one is pending (one write per wake, however many threads ask), and the waiter's
/// <see cref="Consume"/> re-arms it. The I/O thread, the user netdev's host poller and the pasta
/// splice relay each wake their loop this way.
/// </summary>
public sealed class WakeEvent : IDisposable
{
    private int _pending;
    private int _disposed;

    /// <summary>Signals between their check of <c>_disposed</c> and their write; Dispose closes only at 0.</summary>
    private int _writers;

    /// <summary>Makes the eventfd; throws <see cref="IOException"/> with the reason when the kernel refuses.</summary>
    public WakeEvent()
    {
        Fd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (Fd < 0)
        {
            throw new IOException($"eventfd: {Errno.Message(Errno.Last)}");
        }
    }

    /// <summary>
    /// A new epoll set (close-on-exec) that already watches a new <paramref name="wake"/> for input
    /// under <paramref name="wakeToken"/>: what an event loop woken from other threads starts with.
    /// Throws <see cref="IOException"/> with the reason, leaving nothing open.
    /// </summary>
    public static int CreateEpoll(ulong wakeToken, out WakeEvent wake)
    {
        var epoll = Libc.EpollCreate(Libc.EPOLL_CLOEXEC);
        if (epoll < 0)
        {
            throw new IOException($"epoll_create1: {Errno.Message(Errno.Last)}");
        }

        try
        {
            wake = new WakeEvent();
        }
        catch
        {
            Libc.Close(epoll);
            throw;
        }

        if (Libc.EpollCtl(epoll, Libc.EPOLL_CTL_ADD, wake.Fd, Libc.EPOLLIN, wakeToken) < 0)
        {
            var errno = Errno.Last;
            wake.Dispose();
            Libc.Close(epoll);
            throw new IOException($"epoll_ctl: {Errno.Message(errno)}");
        }

        return epoll;
    }

    /// <summary>The descriptor to poll for input.</summary>
    public int Fd { get; }

    /// <summary>Wakes the waiter unless a wake is already pending (any thread).</summary>
    public void Signal()
    {
        if (Interlocked.Exchange(ref _pending, 1) != 0)
        {
            return;
        }

        // Announce the write before checking for disposal (both full fences): either Dispose sees
        // this writer and waits, or this writer sees Dispose and writes nothing to a descriptor
        // number that may already name another file.
        Interlocked.Increment(ref _writers);
        if (Volatile.Read(ref _disposed) == 0)
        {
            Span<byte> one = stackalloc byte[8];
            BitConverter.TryWriteBytes(one, 1UL);
            _ = Libc.Write(Fd, one);
        }

        Interlocked.Decrement(ref _writers);
    }

    /// <summary>
    /// Takes the pending wake (the waiter, when <see cref="Fd"/> was readable). Drain first, then
    /// re-arm: a signal that lands between the two finds the flag still set and writes nothing, but
    /// the waiter's next round sees its work anyway. The other order could drain a write made
    /// after the flag was cleared and leave the flag set with nothing to read, losing every later
    /// wake. The re-arm is a full fence, so the next round's reads come after the cleared flag is
    /// visible to signallers.
    /// </summary>
    public void Consume()
    {
        Span<byte> drain = stackalloc byte[8];
        _ = Libc.Read(Fd, drain);
        Interlocked.Exchange(ref _pending, 0);
    }

    /// <summary>Signals even if a wake seems pending: for stopping, which must reach the waiter.</summary>
    public void SignalForced()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        Volatile.Write(ref _pending, 0);
        Signal();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // A signal from now on finds a wake pending or the event disposed and writes nothing;
            // one already writing finishes first.
            Volatile.Write(ref _pending, 1);
            var spin = new SpinWait();
            while (Volatile.Read(ref _writers) != 0)
            {
                spin.SpinOnce();
            }

            Libc.Close(Fd);
        }
    }
}
