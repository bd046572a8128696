using System.Collections.Concurrent;
using Netdevd.Native;

namespace Netdevd.Backends.Io;

/// <summary>
/// One thread that polls the descriptors of one or more <see cref="PollLoop"/>s (plus an
/// eventfd to be woken) and calls their targets when a descriptor is ready. Backends that share
/// a thread hand frames to each other without waking another thread: a tap written on this
/// thread has its answer (a TCP ACK, say) read by the same thread at the next poll, as in QEMU's
/// main loop. Posted actions run on this thread between polls, each only while its loop is registered.
/// Who ends the thread is its <see cref="IoThreadLifetime"/>; it also serves loops that moved onto
/// it from elsewhere (a user netdev's host I/O, <c>PollLoopHostIo</c>).
/// </summary>
internal sealed class IoThread : IDisposable
{
    [ThreadStatic]
    private static IoThread? t_current;

    private readonly Thread _thread;
    private readonly IoThreadLifetime _lifetime;
    private readonly WakeEvent _wake = new();
    private readonly ConcurrentQueue<(PollLoop? Loop, Action Action)> _posted = new();
    private readonly Lock _membersGate = new();
    private volatile PollLoop[] _members = [];
    private PollFd[] _pollFds = new PollFd[4];
    private PollLoop?[] _polled = new PollLoop?[4];
    private volatile bool _stopping;

    /// <summary>Set (under <c>_membersGate</c>, before <c>_stopping</c>) once the thread may take no more loops or work.</summary>
    private bool _retired;

    /// <summary>The thread's name as <c>ps -L</c> shows it (changed under <c>_membersGate</c>, see <see cref="Leave"/>).</summary>
    private volatile string _name;

    public IoThread(string name, IoThreadLifetime lifetime)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _lifetime = lifetime;
        _name = name;
    }

    /// <summary>The thread's name: that of the backend it was made for, then of a loop that outlived it.</summary>
    public string Name => _name;

    /// <summary>The I/O thread the caller runs on, if it runs on one.</summary>
    public static IoThread? Current => t_current;

    /// <summary>Whether the caller runs on this thread.</summary>
    public bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>Whether the thread has started and not yet ended (tests).</summary>
    internal bool IsAlive => _thread.IsAlive;

    /// <summary>Loops registered here (for placement and for tests).</summary>
    public int MemberCount => _members.Length;

    public void Start() => _thread.Start();

    /// <summary>Adds <paramref name="loop"/> unless the thread has retired (its last member left, or it was disposed).</summary>
    public bool TryAdd(PollLoop loop)
    {
        lock (_membersGate)
        {
            if (_retired)
            {
                return false;
            }

            _members = [.. _members, loop];
        }

        Wake();
        return true;
    }

    /// <summary>
    /// Removes <paramref name="loop"/>; off this thread, returns only once the thread is past any
    /// callback of it, so the caller may release what the callbacks use. A thread that ends with its
    /// last member (<see cref="IoThreadLifetime.LastMember"/>) ends when that member leaves.
    /// </summary>
    public void Leave(PollLoop loop)
    {
        bool retire;
        lock (_membersGate)
        {
            if (Array.IndexOf(_members, loop) < 0)
            {
                return;
            }

            _members = Array.FindAll(_members, m => !ReferenceEquals(m, loop));
            retire = _lifetime == IoThreadLifetime.LastMember && _members.Length == 0;
            _retired |= retire;
            if (!retire && _lifetime == IoThreadLifetime.LastMember)
            {
                Rename();
            }
        }

        if (retire)
        {
            // Off this thread Dispose joins it: no callback of the loop runs after this.
            Dispose();
            return;
        }

        if (!IsCurrent && _thread.IsAlive && !_stopping)
        {
            // A barrier: when it runs, the iteration that might have been calling the loop is over.
            using var passed = new ManualResetEventSlim();
            _posted.Enqueue((null, passed.Set));
            Wake();
            passed.Wait();
        }
    }

    /// <summary>
    /// Under <c>_membersGate</c>, after a loop left a thread that goes on: when no loop left is the
    /// one the thread was named for (the tap whose thread a user netdev's host side followed onto
    /// was deleted), the thread takes the name of one that is, so <c>ps -L</c> and /proc show what
    /// it serves rather than a netdev that no longer exists. Linux names only the calling thread
    /// for sure, so the thread renames itself between polls: Leave's barrier wakes it (off the
    /// thread), or it runs the rename before its next poll (on it).
    /// </summary>
    private void Rename()
    {
        var name = _name;
        if (Array.Exists(_members, m => m.Name == name))
        {
            return;
        }

        var next = _members[0].Name;
        _name = next;
        _posted.Enqueue((null, () => Thread.CurrentThread.Name = next));
    }

    public void Post(PollLoop loop, Action action)
    {
        _posted.Enqueue((loop, action));
        Wake();
    }

    /// <summary>
    /// Runs <paramref name="action"/> on this thread between polls, whatever loop it concerns;
    /// false (and it never runs) once the thread has retired. Posted in time, it runs even if the
    /// thread retires first, as the thread's last act. It must contain its own faults.
    /// </summary>
    public bool TryPost(Action action)
    {
        lock (_membersGate)
        {
            if (_retired)
            {
                return false;
            }

            _posted.Enqueue((null, action));
        }

        Wake();
        return true;
    }

    /// <summary>Interrupts the poll so interest changes and posted actions take effect.</summary>
    public void Wake()
    {
        // The thread itself rebuilds its poll set before it waits again.
        if (!IsCurrent)
        {
            _wake.Signal();
        }
    }

    public void Dispose()
    {
        lock (_membersGate)
        {
            _retired = true;
        }

        _stopping = true;
        if (IsCurrent)
        {
            // Run closes the eventfd as it ends, after its last poll: closed now, its number could
            // name another thread's eventfd by then, and this thread would poll and drain that.
            return;
        }

        if ((_thread.ThreadState & ThreadState.Unstarted) != 0)
        {
            _wake.Dispose();
            return;
        }

        _wake.SignalForced();
        _thread.Join();
        _wake.Dispose();
    }

    private void Run()
    {
        t_current = this;
        while (!_stopping)
        {
            var left = RunPosted();
            if (_stopping)
            {
                // Disposed by a posted action: no further poll (see Dispose).
                break;
            }

            // Work still queued (an action that posted itself again on this thread, which wakes
            // no one) runs after a poll that does not wait.
            var count = Prepare();
            var n = Libc.PollOrErrno(_pollFds.AsSpan(0, count), left ? 0 : -1);
            if (n < 0)
            {
                if (n == -Errno.EINTR)
                {
                    continue;
                }

                throw new IOException($"poll: {Errno.Message(-n)}");
            }

            if ((_pollFds[0].Revents & Libc.POLLIN) != 0)
            {
                // Before this round's reads of posted actions and interest (see Consume).
                _wake.Consume();
            }

            for (var i = 1; i < count && !_stopping; i++)
            {
                var revents = _pollFds[i].Revents;
                if (revents != 0)
                {
                    _polled[i]!.Dispatch(_pollFds[i].Fd, revents);
                }
            }
        }

        // What TryPost accepted before the thread retired still runs (a move onto this thread
        // that lost the race with its last member's departure starts elsewhere from here), and
        // so do barriers; actions of loops still registered do not.
        _ = RunPosted(final: true);
        _wake.Dispose();
    }

    /// <summary>
    /// Runs posted actions; true when it stopped with actions still queued, which only this
    /// thread posted (others' posts wake the poll).
    /// </summary>
    private bool RunPosted(bool final = false)
    {
        // Between polls, only what was queued when this began: an action that posts itself again
        // (a drain whose budget ran out, vhost-user's) would otherwise run here for ever, and the
        // thread's descriptors, other netdevs among them, would never be polled again.
        // IsEmpty first: Count takes a consistent snapshot of the queue's segments, a cost on
        // every wake-up of a thread that mostly has nothing posted.
        if (!final && _posted.IsEmpty)
        {
            return false;
        }

        var left = final ? int.MaxValue : _posted.Count;
        for (; left > 0; left--)
        {
            if (!_posted.TryDequeue(out var item))
            {
                return false;
            }

            if (final && item.Loop is not null)
            {
                continue;
            }

            // Actions of a loop that has left are dropped; barriers (no loop) always run. An action
            // that throws is a fault of its loop's netdev, not the end of this thread.
            if (item.Loop is null || item.Loop.IsRegistered)
            {
                try
                {
                    item.Action();
                }
                catch (Exception e) when (item.Loop is { } loop && loop.ContainFault(e))
                {
                    // Counted and logged by the loop's netdev.
                }
            }
        }

        // Everything that was queued ran; what is there now was posted meanwhile.
        return !_posted.IsEmpty;
    }

    /// <summary>Fills the poll set: the eventfd, then every member with a descriptor and some interest.</summary>
    private int Prepare()
    {
        var members = _members;
        if (_pollFds.Length < members.Length + 1)
        {
            _pollFds = new PollFd[(members.Length + 1) * 2];
            _polled = new PollLoop?[_pollFds.Length];
        }

        _pollFds[0] = new PollFd { Fd = _wake.Fd, Events = Libc.POLLIN };
        var count = 1;
        foreach (var loop in members)
        {
            if (loop.TryGetPollFd(out var pollFd))
            {
                _pollFds[count] = pollFd;
                _polled[count] = loop;
                count++;
            }
        }

        Array.Clear(_polled, count, _polled.Length - count);
        return count;
    }
}
