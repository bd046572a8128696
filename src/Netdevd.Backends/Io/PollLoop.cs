using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.Io;

/// <summary>
/// One backend's place on an <see cref="IoThread"/>: the descriptor it watches, its interest in
/// POLLIN/POLLOUT (the back-pressure switch, DESIGN.md: drain until EAGAIN, then wait once) and the
/// target called when the descriptor is ready. Reads happen on that thread and frames go to the peer
/// synchronously on it. The thread is this loop's own, or one shared with other backends
/// (<see cref="IoThreadPool"/>): either way the target is called from one thread only.
/// </summary>
internal sealed class PollLoop : IDisposable
{
    private readonly IPollTarget _target;
    private readonly NetClient? _owner;
    private readonly IoThread _thread;
    private readonly bool _ownsThread;
    private volatile int _fd = -1;
    private volatile bool _wantRead = true;
    private volatile bool _wantWrite;
    private volatile bool _registered;
    private bool _started;
    private bool _disposed;

    /// <summary>
    /// The descriptor armed for this loop in the thread's epoll set, and with which events (-1:
    /// none, or its one-shot registration reported and awaits re-arming); the thread's, under its members' gate.
    /// </summary>
    internal int RegisteredFd = -1;

    /// <inheritdoc cref="RegisteredFd"/>
    internal uint RegisteredEvents;

    /// <summary>The slot the thread's events for this loop carry (set when the loop joins it).</summary>
    internal int Slot;

    /// <summary>Reported since its thread last went idle, and so listed for <see cref="RecordHot"/> then (the thread's).</summary>
    internal bool RecordWhenIdle;

    /// <summary>Set by the thread when an idle read of this loop's descriptor failed: the thread waits for it in epoll from then on.</summary>
    internal bool IdleReadRefused;

    /// <summary>What this loop's frame path touches (thread only; see <see cref="TouchHot"/>).</summary>
    private readonly HotObjects _hot = new();

    /// <param name="owner">The netdev whose input this loop reads (a fault of a callback is counted there); by default the target itself.</param>
    public PollLoop(string name, IPollTarget target, IoThreadPool? pool = null, NetClient? owner = null)
    {
        _target = target;
        _owner = owner ?? target as NetClient;
        pool ??= IoThreadPool.Default;
        var shared = pool.Place();
        _ownsThread = shared is null;
        _thread = shared ?? new IoThread(name, IoThreadLifetime.LastMember);
        Name = name;
    }

    /// <param name="thread">
    /// A thread the caller owns and starts (vhost-user: one per queue pair, watching several
    /// descriptors), or one the loop follows its work onto (<see cref="TryStart"/>).
    /// </param>
    /// <param name="name">The name the thread takes should this loop outlive the ones it was named for (by default the thread's).</param>
    public PollLoop(IPollTarget target, IoThread thread, NetClient? owner, string? name = null)
    {
        _target = target;
        _owner = owner ?? target as NetClient;
        _ownsThread = false;
        _thread = thread;
        Name = name ?? thread.Name;
    }

    /// <summary>What the loop's work is called: its own thread's name, and the name a thread it followed onto takes once it serves nothing else.</summary>
    internal string Name { get; }

    /// <summary>The thread the loop runs on.</summary>
    internal IoThread Thread => _thread;

    /// <summary>Whether the caller runs on this loop's thread.</summary>
    public bool IsLoopThread => _thread.IsCurrent;

    /// <summary>Whether the loop is on its thread (started and not disposed).</summary>
    internal bool IsRegistered => _registered;

    /// <summary>Whether this loop shares its thread with other backends.</summary>
    public bool SharesThread => !_ownsThread;

    public void Start()
    {
        if (!_started && !TryStart())
        {
            throw new InvalidOperationException("the I/O thread has ended");
        }
    }

    /// <summary>Joins the thread and starts it if it is the loop's own; false when the thread has already ended.</summary>
    internal bool TryStart()
    {
        if (_started)
        {
            return _registered;
        }

        _started = true;
        _registered = true;
        if (!_thread.TryAdd(this))
        {
            _registered = false;
            return false;
        }

        if (_ownsThread)
        {
            _thread.Start();
        }

        return true;
    }

    /// <summary>
    /// Sets the descriptor to watch (-1: none). Call it before closing the one watched so far: the
    /// thread names descriptors by number when it re-arms them (closed first, it can at worst report
    /// once more, never spin).
    /// </summary>
    public void Watch(int fd)
    {
        _fd = fd;
        _thread.Rewatch(this);
    }

    /// <summary>Turns reading on or off (off while the peer cannot take more).</summary>
    public void WantRead(bool on)
    {
        if (_wantRead != on)
        {
            _wantRead = on;
            _thread.MarkDirty();
        }
    }

    /// <summary>Asks to be told when the descriptor is writable (after EAGAIN on a write).</summary>
    public void WantWrite(bool on)
    {
        if (_wantWrite != on)
        {
            _wantWrite = on;
            _thread.MarkDirty();
        }
    }

    /// <summary>Runs <paramref name="action"/> on the loop thread (not at all once the loop is disposed).</summary>
    public void Post(Action action) => _thread.Post(this, action);

    /// <summary>
    /// Takes the loop off its thread. Called off that thread, it returns once no callback of this
    /// loop runs any more (its own thread is joined, unless another loop followed onto it; a shared
    /// one has passed a barrier).
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _registered = false;
        _fd = -1;
        if (_started)
        {
            // The loop's own thread ends here unless a loop followed onto it (IoThreadLifetime.LastMember).
            _thread.Leave(this);

            // Past any wake-up of this loop: what its path held (a peer, a hub) is let go.
            _hot.Clear();
        }
        else if (_ownsThread)
        {
            _thread.Dispose();
        }
    }

    /// <summary>The descriptor and interest (poll's bits, which epoll shares) the thread should wait on; false when it watches none.</summary>
    internal bool TryGetPollFd(out PollFd pollFd)
    {
        var fd = _fd;
        if (fd < 0 || !_registered)
        {
            pollFd = default;
            return false;
        }

        short events = 0;
        if (_wantRead)
        {
            events |= Libc.POLLIN;
        }

        if (_wantWrite)
        {
            events |= Libc.POLLOUT;
        }

        // With no interest the descriptor stays in the set: POLLERR/POLLHUP still report.
        pollFd = new PollFd { Fd = fd, Events = events };
        return true;
    }

    /// <summary>
    /// Thread: the poll reported <paramref name="revents"/> for <paramref name="polledFd"/>. A callback
    /// that throws is a fault of this loop's netdev: counted there, and the thread polls on for it and
    /// for every other loop it serves.
    /// </summary>
    internal void Dispatch(int polledFd, short revents)
    {
        try
        {
            DispatchCore(polledFd, revents);
        }
        catch (Exception e) when (ContainFault(e))
        {
            // Counted and logged by the owner; whatever the callback was handling is dropped.
        }
    }

    /// <summary>Whether the thread may wait for this loop's descriptor in an idle read (its target can, and it has not failed).</summary>
    internal bool CanReadWhenIdle => _target is IIdleReadTarget { CanReadWhenIdle: true } && !IdleReadRefused;

    /// <summary>
    /// Thread, idle: the target's <see cref="IIdleReadTarget.ReadWhenIdle"/>; a fault of what the
    /// frame did is this loop's netdev's, as in <see cref="Dispatch"/>.
    /// </summary>
    internal IdleRead ReadWhenIdle(IoThread thread)
    {
        if (_target is not IIdleReadTarget reader || !_registered)
        {
            return IdleRead.Failed;
        }

        try
        {
            return reader.ReadWhenIdle(thread, this);
        }
        catch (Exception e) when (ContainFault(e))
        {
            // Counted and logged by the owner; the frame is dropped.
            return IdleRead.Frame;
        }
    }

    /// <summary>Thread: the wait woke for this loop after sleeping; its path's objects are read before it runs into them cold.</summary>
    internal void TouchHot() => _hot.Touch();

    /// <summary>Thread, when it goes idle after this loop reported: records the objects its path touches now, for the next wake-up.</summary>
    internal void RecordHot()
    {
        _hot.Clear();
        if (!_registered)
        {
            // Disposed since it reported (by its own callback or from elsewhere): nothing of its path is kept.
            return;
        }

        _hot.Add(this);
        try
        {
            _target.CollectHot(_hot);
        }
        catch (Exception e) when (ContainFault(e))
        {
            // Counted by the owner; the next wake-up reads what was recorded up to the fault.
        }
    }

    /// <summary>Thread: a posted action of this loop threw <paramref name="fault"/>; see <see cref="Dispatch"/>.</summary>
    internal bool ContainFault(Exception fault) => _owner?.ContainFault(fault, _target) ?? !FrameFaults.Rethrow;

    private void DispatchCore(int polledFd, short revents)
    {
        // The descriptor may have been swapped (or the loop removed) by an earlier callback of this round.
        if (!_registered || polledFd != _fd)
        {
            return;
        }

        if ((revents & Libc.POLLOUT) != 0)
        {
            _target.OnWritable();
            if (!_registered || polledFd != _fd)
            {
                return;
            }
        }

        if ((revents & Libc.POLLIN) != 0)
        {
            _target.OnReadable();
        }
        else if ((revents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0)
        {
            _target.OnHangup();
        }
    }
}
