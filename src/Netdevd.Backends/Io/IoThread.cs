using System.Collections.Concurrent;
using Netdevd.Native;

namespace Netdevd.Backends.Io;

/// <summary>
/// One thread that polls the descriptors of one or more <see cref="PollLoop"/>s (plus an
/// eventfd to be woken) and calls their targets when a descriptor is ready. Backends that share
/// a thread hand frames to each other without waking another thread: a tap written on this
/// thread has its answer (a TCP ACK, say) read by the same thread at the next poll, as in QEMU's
/// main loop. Posted actions run on this thread between polls, each only while its loop is registered.
/// </summary>
internal sealed class IoThread : IDisposable
{
    private readonly Thread _thread;
    private readonly WakeEvent _wake = new();
    private readonly ConcurrentQueue<(PollLoop? Loop, Action Action)> _posted = new();
    private readonly Lock _membersGate = new();
    private volatile PollLoop[] _members = [];
    private PollFd[] _pollFds = new PollFd[4];
    private PollLoop?[] _polled = new PollLoop?[4];
    private volatile bool _stopping;

    public IoThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>Whether the caller runs on this thread.</summary>
    public bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>Loops registered here (for placement and for tests).</summary>
    public int MemberCount => _members.Length;

    public void Start() => _thread.Start();

    public void Add(PollLoop loop)
    {
        lock (_membersGate)
        {
            _members = [.. _members, loop];
        }

        Wake();
    }

    /// <summary>
    /// Removes <paramref name="loop"/>; off this thread, returns only once the thread is past any
    /// callback of it, so the caller may release what the callbacks use.
    /// </summary>
    public void Remove(PollLoop loop)
    {
        lock (_membersGate)
        {
            _members = Array.FindAll(_members, m => !ReferenceEquals(m, loop));
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

    public void Post(PollLoop loop, Action action)
    {
        _posted.Enqueue((loop, action));
        Wake();
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
        _stopping = true;
        if (!IsCurrent)
        {
            _wake.SignalForced();
        }

        if (_thread.IsAlive && !IsCurrent)
        {
            _thread.Join();
        }

        _wake.Dispose();
    }

    private void Run()
    {
        while (!_stopping)
        {
            RunPosted();
            var count = Prepare();
            var n = Libc.PollOrErrno(_pollFds.AsSpan(0, count), -1);
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

    }

    private void RunPosted()
    {
        while (_posted.TryDequeue(out var item))
        {
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
