using System.Collections.Concurrent;
using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// The one thread that moves every spliced connection's data, as pasta does on its single
/// thread: both sockets of each connection in one epoll set, edge-triggered for input, output
/// and the peer's FIN (registered once, never modified), and non-blocking splices between them.
/// Any number of connections costs one thread; connections are handed over from other threads
/// through a queue and an eventfd.
/// </summary>
internal sealed class SpliceRelay : IDisposable
{
    private const ulong WakeToken = ulong.MaxValue;
    private const uint Interest = Libc.EPOLLIN | Libc.EPOLLOUT | Libc.EPOLLRDHUP | Libc.EPOLLET;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<SplicedConnection> _incoming = new();
    private readonly Lock _gate = new();
    private readonly EpollEvent[] _events = new EpollEvent[128];
    private readonly Stack<int> _freeSlots = new();
    private SplicedConnection?[] _slots = new SplicedConnection?[64];
    private int _nextSlot;
    private int _count;
    private volatile bool _stopping;
    private int _wakePending;

    public SpliceRelay()
    {
        _epoll = Libc.EpollCreate(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1: {Errno.Message(Errno.Last)}");
        }

        _wakeFd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (_wakeFd < 0 || Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, _wakeFd, Libc.EPOLLIN, WakeToken) < 0)
        {
            var errno = Errno.Last;
            Libc.Close(_wakeFd);
            Libc.Close(_epoll);
            throw new IOException($"eventfd: {Errno.Message(errno)}");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "pasta splice" };
        _thread.Start();
    }

    /// <summary>Connections handed over and not yet closed (any thread).</summary>
    public int Count => Volatile.Read(ref _count);

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

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) != 0)
        {
            return;
        }

        Span<byte> one = stackalloc byte[8];
        BitConverter.TryWriteBytes(one, 1UL);
        _ = Libc.Write(_wakeFd, one);
    }

    private void Run()
    {
        Span<byte> drain = stackalloc byte[8];
        while (!_stopping)
        {
            var n = Libc.EpollWait(_epoll, _events, -1);
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
                var slot = (int)(data >> 1);
                if (_slots[slot] is { } connection)
                {
                    connection.OnEvents((int)(data & 1), _events[i].Events);
                    if (connection.Closed)
                    {
                        Forget(connection);
                    }
                }
            }

            if (woken)
            {
                // Drain, then re-arm: a wake after the drain writes again, so none is lost.
                _ = Libc.Read(_wakeFd, drain);
                Interlocked.Exchange(ref _wakePending, 0);
                TakeIncoming();
            }
        }
    }

    private void TakeIncoming()
    {
        while (!_stopping && _incoming.TryDequeue(out var connection))
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

        Volatile.Write(ref _wakePending, 0);
        Wake();
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

        Array.Clear(_slots);
        Volatile.Write(ref _count, 0);
        Libc.Close(_wakeFd);
        Libc.Close(_epoll);
    }
}
