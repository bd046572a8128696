using System.Collections.Concurrent;
using Netdevd.Native;

namespace Netdevd.Backends.Io;

/// <summary>
/// One thread that waits on the descriptors of one or more <see cref="PollLoop"/>s (plus an
/// eventfd to be woken) and calls their targets when a descriptor is ready. Backends that share
/// a thread hand frames to each other without waking another thread: a tap written on this
/// thread has its answer (a TCP ACK, say) read by the same thread at the next poll, as in QEMU's
/// main loop. Posted actions run on this thread between polls, each only while its loop is registered.
/// Who ends the thread is its <see cref="IoThreadLifetime"/>; it also serves loops that moved onto
/// it from elsewhere (a user netdev's host I/O, <c>PollLoopHostIo</c>).
/// </summary>
/// <remarks>
/// The wait is an epoll set that keeps its registrations between waits: a poll(2) of n descriptors
/// inserts and removes n wait-queue entries and polls all n again on every wake-up, and the echo of
/// a request (a ping of the gateway) paid that cold, ~4 µs of its ~85. The set follows the loops'
/// descriptors and interest on the thread, before it waits again.
/// <para>
/// Every registration is one-shot, re-armed after its event was handled, and is never deleted by
/// number. An epoll registration belongs to the open file, not to the number: a descriptor closed
/// while another process still holds the file (a vhost-user front-end's kick eventfd) stays in the
/// set, and its number may already name another file, even another loop's, which a delete by that
/// number would take out instead. A stale registration reports at most once, under a descriptor
/// its loop no longer watches, is ignored and never re-armed; the kernel drops it when the last
/// holder closes the file. So no order of close and <see cref="PollLoop.Watch"/> can make the
/// thread spin. A re-arm does name the descriptor by number, so owners still take a descriptor
/// out of their loop (Watch(-1), or the loop's disposal) before they close it, as every owner
/// does: a number closed while watched and taken at once by another loop of the same thread could
/// otherwise be re-armed under this loop's token.
/// </para>
/// </remarks>
internal sealed class IoThread : IDisposable
{
    [ThreadStatic]
    private static IoThread? t_current;

    /// <summary>
    /// A sleep this long leaves the frame path cold: pings 0.5 ms apart were answered as fast as
    /// back to back, 5 ms apart 7 µs slower (bench/README, session 22). After shorter sleeps the
    /// thread skips the warm-up, which costs ~3,800 instructions (the code span's ~650 lines asked for,
    /// ~5 instructions each, and the recorded objects, ~400). The objects are recorded when the
    /// thread goes idle, that is when this first wait times out (~4,000 instructions, once per
    /// sleep, for the loops that reported since).
    /// </summary>
    private const int ColdAfterMs = 1;

    private readonly Thread _thread;
    private readonly IoThreadLifetime _lifetime;
    private readonly WakeEvent _wake;
    private readonly int _epoll;
    private readonly EpollEvent[] _events = new EpollEvent[64];
    private readonly ConcurrentQueue<(PollLoop? Loop, Action Action)> _posted = new();
    private readonly Lock _membersGate = new();
    private volatile PollLoop[] _members = [];

    /// <summary>
    /// The loops by the slot their events carry (slot 0: the wake-up eventfd). Replaced, never
    /// changed in place (under <c>_membersGate</c>), so the thread reads it without the gate.
    /// </summary>
    private volatile PollLoop?[] _slots = [null];

    /// <summary>Loops that reported since the thread last went idle, whose paths it records then (thread only).</summary>
    private readonly List<PollLoop> _reported = [];

    /// <summary>Descriptors the epoll set refused (closed, or not pollable), reported as POLLNVAL this round (thread only).</summary>
    private readonly List<(PollLoop Loop, int Fd)> _refused = [];

    /// <summary>1 when some loop's descriptor or interest changed since the set last followed them.</summary>
    private int _dirty;

    /// <summary>1 from just before an idle read until it returns: while it is, the waker may interrupt the read (see <see cref="TryIdleRead"/>).</summary>
    private int _idleReading;

    /// <summary>The kernel's id of the thread (for the waker's signal), once it first read idle.</summary>
    private int _tid;

    /// <summary>The token of this thread's set in the <see cref="IdleReadWaker"/> (0: not joined).</summary>
    private int _wakerToken;

    /// <summary>Set when the waker could not take this thread: it waits in epoll only.</summary>
    private bool _idleReadOff;

    /// <summary>An idle read was interrupted: what the next wait reports is handled as after a sleep (warmed up first).</summary>
    private bool _wokeCold;

    /// <summary>
    /// The loop whose event ended the thread's last sleep (null: something else did, or an idle
    /// read was interrupted). The thread reads idle only on that loop, and waits in epoll when it
    /// is not a tap: what woke it last (a host's requests through a forward) is likely to wake it
    /// next, and epoll hears it at once, where an idle read would hear it through the waker,
    /// 23-31 µs later (bench/README, session 40).
    /// </summary>
    private PollLoop? _lastWaker;

    /// <summary>
    /// The short slice of idle reads (<see cref="IdleReadSlice"/>), made at the first idle read;
    /// null when it is off or the kernel keeps no such slice.
    /// </summary>
    private SchedulerSliceSwitch? _idleSlice;

    /// <summary>The loop of the last idle read.</summary>
    private PollLoop? _idleLoop;

    /// <summary>
    /// Set when another loop than <see cref="_idleLoop"/> reported since the last idle read began
    /// (a host socket, the timer): the tap's frames are answered across the host, and the next idle
    /// read keeps the default slice (see <see cref="IdleReadSlice"/>). Set at first too.
    /// </summary>
    private bool _othersSinceIdleRead = true;

    private long _idleReads;
    private long _idleReadsShortened;
    private long _idleReadsInterrupted;

    /// <summary>Set under <c>_membersGate</c> when the epoll descriptor and the eventfd are closed (once).</summary>
    private bool _epollClosed;
    private volatile bool _stopping;

    /// <summary>Set (under <c>_membersGate</c>, before <c>_stopping</c>) once the thread may take no more loops or work.</summary>
    private bool _retired;

    /// <summary>The thread's name as <c>ps -L</c> shows it (changed under <c>_membersGate</c>, see <see cref="Leave"/>).</summary>
    private volatile string _name;

    public IoThread(string name, IoThreadLifetime lifetime)
    {
        // The waker is made here, on the thread that makes I/O threads, rather than by the first
        // idle read: a new thread carries its creator's name until it names itself, and one made
        // by an I/O thread showed up as a second "io0" for that moment.
        _ = IdleReadWaker.Instance;
        _epoll = WakeEvent.CreateEpoll(WakeSlot, out _wake);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _lifetime = lifetime;
        _name = name;
    }

    /// <summary>The slot of the wake-up eventfd's events.</summary>
    private const int WakeSlot = 0;

    /// <summary>The thread's name: that of the backend it was made for, then of a loop that outlived it.</summary>
    public string Name => _name;

    /// <summary>The I/O thread the caller runs on, if it runs on one.</summary>
    public static IoThread? Current => t_current;

    /// <summary>Whether the caller runs on this thread.</summary>
    public bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>Whether the thread has started and not yet ended (tests).</summary>
    internal bool IsAlive => _thread.IsAlive;

    /// <summary>Idle reads that brought a frame (tests).</summary>
    internal long IdleReads => Interlocked.Read(ref _idleReads);

    /// <summary>Idle reads made with the short slice (<see cref="IdleReadSlice"/>).</summary>
    internal long IdleReadsShortened => Interlocked.Read(ref _idleReadsShortened);

    /// <summary>Idle reads that something else the thread serves interrupted (tests).</summary>
    internal long IdleReadsInterrupted => Interlocked.Read(ref _idleReadsInterrupted);

    /// <summary>Tests: runs on the thread after the waker is armed and before the idle read itself, the stretch where a signal interrupts nothing.</summary>
    internal Action? BeforeIdleRead { get; set; }

    /// <summary>Whether the thread is in (or on its way into) an idle read (tests).</summary>
    internal bool InIdleRead => Volatile.Read(ref _idleReading) != 0;

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
            _slots = SlotTable.With(_slots, loop, out var slot);
            loop.Slot = slot;
        }

        MarkDirty();
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
            Forget(loop);
            _slots = SlotTable.Without(_slots, loop.Slot);
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

    /// <summary>
    /// A loop was given a descriptor (<see cref="PollLoop.Watch"/>): the thread registers it before
    /// it waits again. Even a number the loop already watched is registered anew: it may name a
    /// new file since (the old one closed, its registration gone with it or left to report once).
    /// </summary>
    internal void Rewatch(PollLoop loop)
    {
        lock (_membersGate)
        {
            Forget(loop);
        }

        MarkDirty();
    }

    /// <summary>A loop's interest changed: the set follows before the thread waits again.</summary>
    internal void MarkDirty()
    {
        Volatile.Write(ref _dirty, 1);
        Wake();
    }

    /// <summary>Interrupts the wait so interest changes and posted actions take effect.</summary>
    public void Wake()
    {
        // The thread itself follows its loops' changes before it waits again.
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
            CloseEpoll();
            return;
        }

        _wake.SignalForced();
        _thread.Join();
        CloseEpoll();
    }

    /// <summary>Closes the wake-up eventfd and the epoll set, once (the thread's end and Dispose may both get here).</summary>
    private void CloseEpoll()
    {
        lock (_membersGate)
        {
            if (_epollClosed)
            {
                return;
            }

            _epollClosed = true;
            if (_wakerToken != 0)
            {
                IdleReadWaker.Instance?.Leave(_wakerToken, _epoll);
            }

            Libc.Close(_epoll);
        }

        _wake.Dispose();
    }

    private void Run()
    {
        t_current = this;

        // A hint: a kernel that refuses it (or predates sched_setattr) leaves the default slice.
        _ = FramePathSlice.ApplyToCurrentThread();
        while (!_stopping)
        {
            var left = RunPosted();
            if (_stopping)
            {
                // Disposed by a posted action: no further wait (see Dispose).
                break;
            }

            // Work still queued (an action that posted itself again on this thread, which wakes
            // no one) runs after a wait that does not block; so does a set that must follow again
            // (a descriptor it refused, reported below, as poll reports POLLNVAL every time).
            if (Volatile.Read(ref _dirty) != 0)
            {
                Follow();
            }

            var block = !left && Volatile.Read(ref _dirty) == 0 && _refused.Count == 0;
            // A wait that blocks first waits ColdAfterMs, then for good: a thread woken from the
            // second knows its frame path went cold, with no clock read on the way to the frame.
            var n = Libc.EpollWaitOrErrno(_epoll, _events, block ? ColdAfterMs : 0);
            var cold = _wokeCold;
            _wokeCold = false;
            if (block && n == 0)
            {
                // Idle: the paths that ran are recorded now, still warm and with no frame waiting.
                // Recorded right after the callbacks of a wake-up instead, the ~4,000 instructions
                // delayed the requester whenever it shared the CPU with this thread (its reply's
                // reader runs once this thread blocks): 1-2 µs of a gateway ping (bench/README).
                var reader = IdleReader();
                RecordReportedPaths();
                if (reader is not null && TryIdleRead(reader))
                {
                    continue;
                }

                cold = true;
                n = Libc.EpollWaitOrErrno(_epoll, _events, -1);
                _lastWaker = n > 0 ? LoopAt(_slots, (int)(uint)_events[0].Data) : null;
            }

            if (n < 0)
            {
                if (n == -Errno.EINTR)
                {
                    continue;
                }

                throw new IOException($"epoll_wait: {Errno.Message(-n)}");
            }

            var slots = _slots;
            cold &= n > 0;
            if (cold)
            {
                // Woken after a sleep long enough for the caches and TLBs to forget the reporting
                // loops' paths: asked for together now (the code's lines prefetched, the objects
                // read), the misses and page walks overlap instead of following the frame one
                // after another (see HotObjects, FramePathCode).
                FramePathCode.Touch();
                for (var i = 0; i < n; i++)
                {
                    LoopAt(slots, (int)(uint)_events[i].Data)?.TouchHot();
                }
            }

            for (var i = 0; i < n && !_stopping; i++)
            {
                var data = _events[i].Data;
                var slot = (int)(uint)data;
                if (slot == WakeSlot)
                {
                    // Before the next round's reads of posted actions and interest (see Consume).
                    _wake.Consume();
                }
                else if (LoopAt(slots, slot) is { } loop)
                {
                    if (!ReferenceEquals(loop, _idleLoop))
                    {
                        _othersSinceIdleRead = true;
                    }

                    // The token carries the descriptor it was registered for: the loop ignores an
                    // event for one it has stopped watching (swapped, or a stale registration's).
                    var fd = (int)(data >> 32);
                    loop.Dispatch(fd, (short)_events[i].Events);
                    if (!loop.RecordWhenIdle)
                    {
                        loop.RecordWhenIdle = true;
                        _reported.Add(loop);
                    }

                    // After the callback (the answer to a request is out by then): the one-shot
                    // registration that reported is re-armed while the loop still watches it.
                    if (loop.RegisteredFd == fd)
                    {
                        Rearm(loop);
                    }
                }
            }

            foreach (var (loop, fd) in _refused)
            {
                loop.Dispatch(fd, Libc.POLLNVAL);
            }

            _refused.Clear();
        }

        // What TryPost accepted before the thread retired still runs (a move onto this thread
        // that lost the race with its last member's departure starts elsewhere from here), and
        // so do barriers; actions of loops still registered do not.
        _ = RunPosted(final: true);
        CloseEpoll();
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

    /// <summary>
    /// Thread: brings the epoll set in line with every member's descriptor and interest. A
    /// descriptor the set refuses (closed by its owner while watched, or not pollable) is reported
    /// to its loop as POLLNVAL, as poll(2) reports it, and tried again next round.
    /// </summary>
    private void Follow()
    {
        lock (_membersGate)
        {
            // Cleared before the members are read: a change after this read marks the set again.
            Interlocked.Exchange(ref _dirty, 0);
            foreach (var loop in _members)
            {
                FollowOrRefuse(loop);
            }
        }
    }

    /// <summary>
    /// Thread, idle: the loop whose descriptor an idle read waits on, if any: the one that ended
    /// the last sleep, when its target can be read idle (a tap) and it is armed for input.
    /// </summary>
    private PollLoop? IdleReader()
    {
        if (_idleLoop is { IsRegistered: false })
        {
            // Deleted since its last idle read: not kept alive by this reference (as _lastWaker below).
            _idleLoop = null;
        }

        var loop = _lastWaker;
        if (loop is null || _idleReadOff)
        {
            return null;
        }

        if (!loop.IsRegistered)
        {
            // Gone since (deleted): not kept alive by this reference either.
            _lastWaker = null;
            return null;
        }

        return loop.CanReadWhenIdle && loop.RegisteredFd >= 0 && (loop.RegisteredEvents & Libc.EPOLLIN) != 0 ? loop : null;
    }

    /// <summary>
    /// Thread, idle for <see cref="ColdAfterMs"/>: waits for <paramref name="loop"/>'s next frame in
    /// a blocking read instead of epoll. The echo of a request after a sleep (a gateway ping 1 s
    /// apart) then needs one system call to get its frame instead of two, and the tap wakes the
    /// thread straight from its own wait queue, not through epoll's: 7-11 µs of ~80 against the
    /// same build waiting in epoll (bench/README, session 40). Everything else the thread serves still wakes it: its epoll set
    /// is armed in the <see cref="IdleReadWaker"/> for the time of the read (the loop's own
    /// registration disarmed, so a frame wakes the read alone), and the waker interrupts the read
    /// with a signal. True when the read ran (whatever it brought); false when this thread cannot
    /// read idle now and should wait in epoll.
    /// </summary>
    private bool TryIdleRead(PollLoop loop)
    {
        var waker = IdleReadWaker.Instance;
        if (waker is null || !waker.Usable)
        {
            _idleReadOff = true;
            return false;
        }

        if (_wakerToken == 0)
        {
            _tid = Libc.ThreadId();
            _wakerToken = Libc.UnblockSignal(waker.Signal) == 0 ? waker.Join(this, _epoll) : 0;
            if (_wakerToken == 0)
            {
                _idleReadOff = true;
                return false;
            }

            _idleSlice = FramePathSlice.Asked || IdleReadSlice.Configured == 0 ? null : SchedulerSliceSwitch.ForCurrentThread(IdleReadSlice.Configured);
        }

        lock (_membersGate)
        {
            var fd = loop.RegisteredFd;
            if (!loop.IsRegistered || fd < 0 || (loop.RegisteredEvents & Libc.EPOLLIN) == 0
                || Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_MOD, fd, Libc.EPOLLONESHOT, ((ulong)(uint)fd << 32) | (uint)loop.Slot) != 0)
            {
                return false;
            }

            loop.RegisteredEvents = Libc.EPOLLONESHOT;
        }

        // Only for a tap whose frames this thread answered with nothing else waking it since.
        if (!_othersSinceIdleRead && _idleSlice is { } slice)
        {
            slice.Shorten();
            if (slice.IsShort)
            {
                Interlocked.Increment(ref _idleReadsShortened);
            }
        }

        _idleLoop = loop;
        _othersSinceIdleRead = false;

        // Reading first, then armed: a report the arming finds at once interrupts a read that is
        // announced (the waker signals only while it is), and epoll_ctl orders the two.
        Volatile.Write(ref _idleReading, 1);
        var result = IdleRead.Interrupted;
        if (waker.Arm(_wakerToken, _epoll))
        {
            BeforeIdleRead?.Invoke();
            result = loop.ReadWhenIdle(this);
            waker.Disarm(_wakerToken, _epoll);
        }
        else
        {
            _idleReadOff = true;
        }

        Volatile.Write(ref _idleReading, 0);
        _idleSlice?.Restore();
        Rearm(loop);
        switch (result)
        {
            case IdleRead.Frame:
                Interlocked.Increment(ref _idleReads);
                if (!loop.RecordWhenIdle)
                {
                    loop.RecordWhenIdle = true;
                    _reported.Add(loop);
                }

                break;
            case IdleRead.Interrupted:
                Interlocked.Increment(ref _idleReadsInterrupted);
                _lastWaker = null;
                _wokeCold = true;
                break;
            default:
                loop.IdleReadRefused = true;
                _lastWaker = null;
                _wokeCold = true;
                break;
        }

        return true;
    }

    /// <summary>
    /// Thread: the first frame of an idle read is answered; the thread is back on the default
    /// slice (no later wake-up of this wait preempts anyone).
    /// </summary>
    internal void IdleFrameAnswered() => _idleSlice?.Restore();

    /// <summary>
    /// Thread: an idle read returned (<paramref name="frame"/>: with a frame to handle). The waker
    /// stops signalling, and the frame's path is asked for at once, as after a wait in epoll.
    /// </summary>
    internal void IdleReadReturned(PollLoop loop, bool frame)
    {
        Volatile.Write(ref _idleReading, 0);
        if (frame)
        {
            FramePathCode.Touch();
            loop.TouchHot();
        }
    }

    /// <summary>
    /// The waker's thread: interrupts this thread's idle read, again after each pause (doubled up to
    /// <paramref name="longestPauseUs"/>) until the thread is out of it; returns at once when it is
    /// not in one. False, given up, when <paramref name="patience"/> signals did not get it out: the
    /// signal does not interrupt the read (something else in the process took it over or blocked it).
    /// </summary>
    internal bool InterruptIdleRead(int signal, int firstPauseUs, int longestPauseUs, int patience)
    {
        var pause = firstPauseUs;
        for (var sent = 0; Volatile.Read(ref _idleReading) != 0; sent++)
        {
            if (sent == patience)
            {
                return false;
            }

            if (Libc.SignalThread(_tid, signal) != 0)
            {
                // The thread is gone (it ended with its last loop).
                return true;
            }

            Libc.SleepMicroseconds(pause);
            pause = Math.Min(pause * 2, longestPauseUs);
        }

        return true;
    }

    /// <summary>
    /// The thread went idle: records what the paths of the loops that reported since touch (for
    /// the warm-up of the wake-up that ends this sleep), and lets go of the list.
    /// </summary>
    private void RecordReportedPaths()
    {
        foreach (var loop in _reported)
        {
            loop.RecordWhenIdle = false;
            loop.RecordHot();
        }

        _reported.Clear();
    }

    /// <summary>The loop an event's slot names in <paramref name="slots"/>; null for the wake-up eventfd's or a slot no longer taken.</summary>
    private static PollLoop? LoopAt(PollLoop?[] slots, int slot) => slot != WakeSlot && slot < slots.Length ? slots[slot] : null;

    /// <summary>Thread: re-arms <paramref name="loop"/>'s one-shot registration, which reported.</summary>
    private void Rearm(PollLoop loop)
    {
        lock (_membersGate)
        {
            Forget(loop);
            FollowOrRefuse(loop);
        }
    }

    /// <summary>Under <c>_membersGate</c>: <see cref="FollowLoop"/>, a refused descriptor queued for its POLLNVAL and tried again next round.</summary>
    private void FollowOrRefuse(PollLoop loop)
    {
        if (!FollowLoop(loop) && loop.TryGetPollFd(out var refused))
        {
            _refused.Add((loop, refused.Fd));
            Volatile.Write(ref _dirty, 1);
        }
    }

    /// <summary>Under <c>_membersGate</c>: one member's registration follows its wish; false when the set refused its descriptor.</summary>
    private bool FollowLoop(PollLoop loop)
    {
        if (!loop.TryGetPollFd(out var wish))
        {
            // Not deleted (see the remarks): disarmed, or left to report once and be ignored.
            Forget(loop);
            return true;
        }

        // With no interest the descriptor stays in the set: EPOLLERR/EPOLLHUP still report, as in poll.
        var events = (uint)(ushort)wish.Events | Libc.EPOLLONESHOT;
        var token = ((ulong)(uint)wish.Fd << 32) | (uint)loop.Slot;
        if (loop.RegisteredFd == wish.Fd && loop.RegisteredEvents == events)
        {
            return true;
        }

        // Modify first: the file may be in the set under this number already (this loop's, or a
        // registration left from an earlier watch of it); add when it is not.
        if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_MOD, wish.Fd, events, token) != 0
            && Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, wish.Fd, events, token) != 0)
        {
            Forget(loop);
            return false;
        }

        loop.RegisteredFd = wish.Fd;
        loop.RegisteredEvents = events;
        return true;
    }

    /// <summary>Under <c>_membersGate</c>: the loop has no armed registration of its own any more (whatever is left in the set reports at most once).</summary>
    private static void Forget(PollLoop loop) => loop.RegisteredFd = -1;
}
