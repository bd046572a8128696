using System.Collections.Concurrent;
using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// The one thread that moves every spliced connection's data, as pasta does on its single
/// thread: both sockets of each connection in one epoll set, edge-triggered for input, output
/// and the peer's FIN (registered once, never modified), and non-blocking splices between them.
/// Any number of connections costs one thread; connections are handed over from other threads
/// through a queue and an eventfd. The same thread watches connects to the namespace's loopback
/// that were not decided at once (<see cref="PendingSplice"/>), so no other thread waits for them.
/// </summary>
internal sealed class SpliceRelay : IDisposable
{
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>Marks the token of a pending connect (its slot in the low bits).</summary>
    private const ulong PendingFlag = 1UL << 62;
    private const uint Interest = Libc.EPOLLIN | Libc.EPOLLOUT | Libc.EPOLLRDHUP | Libc.EPOLLET;

    private readonly int _epoll;
    private readonly WakeEvent _wake;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<SplicedConnection> _incoming = new();
    private readonly ConcurrentQueue<PendingSplice> _incomingPending = new();
    private readonly Func<int, int, SplicedConnection?> _join;
    private readonly Stack<int> _freePendingSlots = new();
    private PendingSplice?[] _pendingSlots = new PendingSplice?[16];
    private int _nextPendingSlot;
    private int _pendingCount;
    private readonly Lock _gate = new();
    private readonly EpollEvent[] _events = new EpollEvent[128];
    private readonly Stack<int> _freeSlots = new();
    private SplicedConnection?[] _slots = new SplicedConnection?[64];

    /// <summary>Connections whose last report ran out of budget, resumed after the round's reports (and swapped with <see cref="_resuming"/>).</summary>
    private List<SplicedConnection> _heldBack = [];
    private List<SplicedConnection> _resuming = [];
    private int _nextSlot;
    private int _count;
    private volatile bool _stopping;

    /// <param name="join">Makes the connection of a client and a namespace socket whose connect completed (null: no pipes; both stay the caller's).</param>
    public SpliceRelay(Func<int, int, SplicedConnection?> join)
    {
        _join = join;
        _epoll = WakeEvent.CreateEpoll(WakeToken, out _wake);

        _thread = new Thread(Run) { IsBackground = true, Name = "pasta splice" };
        _thread.Start();
    }

    /// <summary>Connections handed over and not yet closed (any thread).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Connects handed over and not yet decided (any thread).</summary>
    public int Pending => Volatile.Read(ref _pendingCount);

    /// <summary>
    /// Takes <paramref name="pending"/> (any thread): from now on the relay owns both its sockets,
    /// and either joins them or gives the client back. False when the relay is stopping (the caller
    /// still owns them).
    /// </summary>
    public bool AddPending(PendingSplice pending)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return false;
            }

            Interlocked.Increment(ref _pendingCount);
            _incomingPending.Enqueue(pending);
        }

        Wake();
        return true;
    }

    /// <summary>
    /// Takes <paramref name="connection"/> (any thread): from now on the relay owns its sockets
    /// and pipes. False when the relay is stopping (the caller still owns them).
    /// </summary>
    public bool Add(SplicedConnection connection)
    {
        lock (_gate)
        {
            // Under the lock with Dispose's flag: a connection is either refused or seen by its drain.
            if (_stopping)
            {
                return false;
            }

            Interlocked.Increment(ref _count);
            _incoming.Enqueue(connection);
        }

        Wake();
        return true;
    }

    private void Wake() => _wake.Signal();

    private void Run()
    {
        while (!_stopping)
        {
            // Connections held back at their budget go on after a look that does not wait.
            var n = Libc.EpollWait(_epoll, _events, _heldBack.Count > 0 ? 0 : PendingTimeout());
            if (n < 0)
            {
                if (Errno.Last == Errno.EINTR)
                {
                    continue;
                }

                // Not seen in practice (the set lives as long as the thread): Dispose resets what is left.
                return;
            }

            var woken = false;
            for (var i = 0; i < n && !_stopping; i++)
            {
                var data = _events[i].Data;
                if (data == WakeToken)
                {
                    woken = true;
                    continue;
                }

                // An event of a connection closed earlier in this round finds its slot empty: new
                // connections take slots only after the round, below.
                if ((data & PendingFlag) != 0)
                {
                    if (_pendingSlots[(int)(data & ~PendingFlag)] is { } pending)
                    {
                        OnConnectEvents(pending, _events[i].Events);
                    }

                    continue;
                }

                var slot = (int)(data >> 1);
                if (_slots[slot] is { } connection)
                {
                    connection.OnEvents((int)(data & 1), _events[i].Events);
                    Settle(connection);
                }
            }

            if (woken)
            {
                _wake.Consume();
                TakeIncoming();
            }

            ExpirePending();
            ResumeHeldBack();
        }
    }

    /// <summary>After a report or a resume: forgets a closed connection, holds back one that ran out of budget.</summary>
    private void Settle(SplicedConnection connection)
    {
        if (connection.Closed)
        {
            Forget(connection);
        }
        else if (connection.MoreToMove && !connection.HeldBack)
        {
            connection.HeldBack = true;
            _heldBack.Add(connection);
        }
    }

    /// <summary>Gives the connections held back at their budget their next turn; those that run out again wait for the next round.</summary>
    private void ResumeHeldBack()
    {
        if (_heldBack.Count == 0)
        {
            return;
        }

        (_resuming, _heldBack) = (_heldBack, _resuming);
        foreach (var connection in _resuming)
        {
            connection.HeldBack = false;

            // Closed meanwhile (a report of this round): already forgotten.
            if (!connection.Closed && !_stopping)
            {
                connection.Resume();
                Settle(connection);
            }
        }

        _resuming.Clear();
    }

    /// <summary>How long epoll may wait: until the earliest pending connect gives up, or forever.</summary>
    private int PendingTimeout()
    {
        if (Volatile.Read(ref _pendingCount) == 0)
        {
            return -1;
        }

        var earliest = long.MaxValue;
        for (var i = 0; i < _nextPendingSlot; i++)
        {
            if (_pendingSlots[i] is { } pending && pending.Deadline < earliest)
            {
                earliest = pending.Deadline;
            }
        }

        // Pending ones still queued for TakeIncoming wake the thread themselves.
        return earliest == long.MaxValue ? -1 : (int)Math.Clamp(earliest - Environment.TickCount64, 0, int.MaxValue);
    }

    /// <summary>Pending connects past their deadline: the listener never answered, the client goes the user netdev's way.</summary>
    private void ExpirePending()
    {
        if (Volatile.Read(ref _pendingCount) == 0)
        {
            return;
        }

        var now = Environment.TickCount64;
        for (var i = 0; i < _nextPendingSlot && !_stopping; i++)
        {
            if (_pendingSlots[i] is { } pending && pending.Deadline <= now)
            {
                Decide(pending, connected: false);
            }
        }
    }

    /// <summary>The namespace's socket of a pending connect reported: connected, refused, or nothing yet.</summary>
    private void OnConnectEvents(PendingSplice pending, uint events)
    {
        if ((events & (Libc.EPOLLOUT | Libc.EPOLLERR | Libc.EPOLLHUP)) == 0)
        {
            return;
        }

        var connected = Libc.GetSockOptInt(pending.Inner, Libc.SOL_SOCKET, Libc.SO_ERROR, out var error) == 0
            && error == 0 && (events & (Libc.EPOLLERR | Libc.EPOLLHUP)) == 0;
        Decide(pending, connected);
    }

    /// <summary>Ends a pending connect: its pair is relayed, or the namespace's socket closes and the client is given back.</summary>
    private void Decide(PendingSplice pending, bool connected)
    {
        _pendingSlots[pending.Slot] = null;
        _freePendingSlots.Push(pending.Slot);
        _ = Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_DEL, pending.Inner, 0, 0);
        var connection = connected ? _join(pending.Client, pending.Inner) : null;
        Interlocked.Decrement(ref _pendingCount);
        if (connection is not null)
        {
            Interlocked.Increment(ref _count);
            Place(connection);
            return;
        }

        Libc.Close(pending.Inner);
        pending.Fallback.GiveBack(pending.Client);
    }

    private void TakeIncoming()
    {
        while (!_stopping && _incoming.TryDequeue(out var connection))
        {
            Place(connection);
        }

        while (!_stopping && _incomingPending.TryDequeue(out var pending))
        {
            var slot = _freePendingSlots.Count > 0 ? _freePendingSlots.Pop() : _nextPendingSlot++;
            if (slot >= _pendingSlots.Length)
            {
                Array.Resize(ref _pendingSlots, _pendingSlots.Length * 2);
            }

            _pendingSlots[slot] = pending;
            pending.Slot = slot;

            // Level-triggered, one report decides it: a connect that completed before the
            // registration is reported at once.
            if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, pending.Inner, Libc.EPOLLOUT, PendingFlag | (uint)slot) < 0)
            {
                Decide(pending, connected: false);
            }
        }
    }

    /// <summary>Gives <paramref name="connection"/> a slot and both its sockets to the epoll set.</summary>
    private void Place(SplicedConnection connection)
    {
        var slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _nextSlot++;
        if (slot >= _slots.Length)
        {
            Array.Resize(ref _slots, _slots.Length * 2);
        }

        _slots[slot] = connection;
        connection.Slot = slot;
        var token = (ulong)slot << 1;
        if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, connection.Socket(0), Interest, token) < 0
            || Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, connection.Socket(1), Interest, token | 1) < 0)
        {
            connection.Reset();
            Forget(connection);
        }

        // Edge-triggered: data that came before the registration is reported at once by the
        // ADD (epoll checks readiness when a descriptor joins), so nothing waits for more.
    }

    private void Forget(SplicedConnection connection)
    {
        // Closing the descriptors took them out of the epoll set.
        _slots[connection.Slot] = null;
        _freeSlots.Push(connection.Slot);
        Interlocked.Decrement(ref _count);
    }

    /// <summary>Stops the thread, then resets every connection it still held (their peers see the relay gone).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
        }

        _wake.SignalForced();
        if (_thread.IsAlive && Environment.CurrentManagedThreadId != _thread.ManagedThreadId)
        {
            _thread.Join();
        }

        foreach (var connection in _slots)
        {
            connection?.Reset();
        }

        while (_incoming.TryDequeue(out var connection))
        {
            connection.Reset();
        }

        // Connects still undecided: the netdev that would take the clients back is closing too,
        // so both sockets close here (the client sees its connection end).
        foreach (var pending in _pendingSlots)
        {
            ClosePending(pending);
        }

        while (_incomingPending.TryDequeue(out var pending))
        {
            ClosePending(pending);
        }

        Array.Clear(_slots);
        Array.Clear(_pendingSlots);
        Volatile.Write(ref _count, 0);
        Volatile.Write(ref _pendingCount, 0);
        _wake.Dispose();
        Libc.Close(_epoll);
    }

    private static void ClosePending(PendingSplice? pending)
    {
        if (pending is not null)
        {
            Libc.Close(pending.Inner);
            Libc.Close(pending.Client);
        }
    }
}
