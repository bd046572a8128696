using Microsoft.Extensions.Logging;
using Netdevd.Backends.Io;
using Netdevd.UserNet.Host;

namespace Netdevd.Backends.User;

/// <summary>
/// A user netdev's host I/O on a <see cref="PollLoop"/>: its epoll descriptor is the loop's one
/// descriptor. The loop starts where the pool places it and then follows the guest's frames
/// (<see cref="FollowCaller"/>): with a thread per netdev, a ping through the NAT or a request to a
/// host server is answered by the thread of the backend that carried it (the tap, the stream)
/// instead of waking the user netdev's own thread, which ends once its loop has left.
/// </summary>
/// <remarks>
/// A move takes two posted steps and no thread ever waits for another: the old thread takes its
/// loop off between two polls (so no round of host I/O is running), then hands the descriptor to
/// the new thread, which starts a loop there, or, if that thread ended meanwhile, where the pool
/// places one. Moves are at least <see cref="MoveIntervalMs"/> apart, so a netdev fed by two
/// backends on two threads does not bounce between them on every frame.
/// </remarks>
internal sealed class PollLoopHostIo(string name, IoThreadPool? pool = null, ILogger? logger = null) : IHostIoThread, IPollTarget
{
    /// <summary>The least time between two moves.</summary>
    internal const long MoveIntervalMs = 1000;

    private readonly Lock _gate = new();
    private PollLoop? _loop;
    private int _fd = -1;
    private Action? _ready;
    private bool _disposed;
    private int _moving;
    private long _nextMoveAt;

    /// <summary>Moves done so far (tests).</summary>
    internal int Moves { get; private set; }

    /// <summary>The thread the host I/O runs on now (tests); null before start and after disposal.</summary>
    internal IoThread? Thread => Volatile.Read(ref _loop)?.Thread;

    public void Start(int fd, Action ready)
    {
        lock (_gate)
        {
            _fd = fd;
            _ready = ready;
            Volatile.Write(ref _loop, StartPlaced());
        }
    }

    public void FollowCaller()
    {
        // The common case, on every batch of the guest's frames, reads two fields: already here.
        // It must not allocate: the move's closure lives in BeginMove, because C# allocates a
        // closure where the variables it captures are declared, on every call of that scope.
        var here = IoThread.Current;
        var current = Volatile.Read(ref _loop);
        if (here is null || current is null || ReferenceEquals(current.Thread, here)
            || Environment.TickCount64 < Volatile.Read(ref _nextMoveAt)
            || Interlocked.Exchange(ref _moving, 1) != 0)
        {
            return;
        }

        BeginMove(here);
    }

    public void OnReadable() => _ready?.Invoke();

    public void OnWritable()
    {
        // Only read interest is asked for.
    }

    public void OnHangup()
    {
        // An epoll descriptor does not hang up.
    }

    public void Dispose()
    {
        PollLoop? loop;
        lock (_gate)
        {
            _disposed = true;
            loop = _loop;
            Volatile.Write(ref _loop, null);
        }

        // Outside the gate: off the loop's thread this waits until no round runs there, and that
        // thread may be about to take the gate to move the loop.
        loop?.Dispose();
    }

    /// <summary>Caller's thread, holding <see cref="_moving"/>: asks the loop's thread to hand it over.</summary>
    private void BeginMove(IoThread here)
    {
        // Read again now that no other move can run: the one read above may have just ended.
        var loop = Volatile.Read(ref _loop);
        if (loop is null || ReferenceEquals(loop.Thread, here) || Environment.TickCount64 < Volatile.Read(ref _nextMoveAt))
        {
            Volatile.Write(ref _moving, 0);
            return;
        }

        // Runs on the old thread between polls while the loop is there; if the loop is disposed
        // first the netdev is going away and nothing is left to move.
        loop.Post(() => LeaveFor(loop, here));
    }

    /// <summary>Old thread, between polls: takes the loop off and hands the descriptor to <paramref name="target"/>.</summary>
    private void LeaveFor(PollLoop loop, IoThread target)
    {
        lock (_gate)
        {
            if (_disposed || !ReferenceEquals(_loop, loop))
            {
                return;
            }

            Volatile.Write(ref _loop, null);
            loop.Dispose();
            try
            {
                if (target.TryPost(StartHere))
                {
                    return;
                }

                // The target ended meanwhile: the pool places the loop afresh.
                Volatile.Write(ref _loop, StartPlaced());
            }
            catch (Exception e) when (Stranded(e))
            {
                // Logged; the netdev's host sockets are no longer polled.
            }

            Finish();
        }
    }

    /// <summary>New thread, between polls (or as its last act if it retired meanwhile): starts the loop here.</summary>
    private void StartHere()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                var loop = new PollLoop(this, IoThread.Current!, owner: null, name);
                loop.Watch(_fd);
                if (loop.TryStart())
                {
                    Volatile.Write(ref _loop, loop);
                    Moves++;
                }
                else
                {
                    // This thread retired after taking the move: the pool places the loop afresh.
                    Volatile.Write(ref _loop, StartPlaced());
                }
            }
            catch (Exception e) when (Stranded(e))
            {
                // Logged; the netdev's host sockets are no longer polled.
            }

            Finish();
        }
    }

    /// <summary>
    /// A move could not start the loop anywhere (no thread could be created): said in the log,
    /// as the netdev's host side stops; the exception must not end the I/O thread it ran on.
    /// </summary>
    private bool Stranded(Exception fault)
    {
        logger?.LogError(fault, "{Name}: the host I/O could not move to another thread; host sockets are no longer served", name);
        return true;
    }

    private PollLoop StartPlaced()
    {
        var loop = new PollLoop(name, this, pool);
        loop.Watch(_fd);
        loop.Start();
        return loop;
    }

    private void Finish()
    {
        Volatile.Write(ref _nextMoveAt, Environment.TickCount64 + MoveIntervalMs);
        Volatile.Write(ref _moving, 0);
    }
}
