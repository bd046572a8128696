using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// TCP sockets of the pasta namespace, made by one long-lived thread that joined it (setns
/// changes the calling thread only, and a socket belongs for good to the namespace it was made
/// in: once made, it is connected and polled from any thread). A few are kept ready per family,
/// as pasta keeps a pool, so a spliced connection seldom waits for that thread.
/// </summary>
internal sealed class NamespaceSockets : IDisposable
{
    /// <summary>Ready sockets per family; the thread tops the pool up when it falls below half.</summary>
    private const int PoolSize = 16;

    private readonly int _netns;
    private readonly Thread _thread;
    /// <summary>Guards the pools and flags; also the monitor callers and the thread wait on.</summary>
    private readonly object _gate = new();
    private readonly Queue<int>[] _pools = [new(), new()];
    private readonly bool[] _wanted = new bool[2];
    private readonly bool[] _unavailable = new bool[2];
    private bool _refill;
    private bool _stopping;
    private long _refills;
    private string? _failure;
    private bool _entered;

    private NamespaceSockets(int netns)
    {
        _netns = netns;
        _thread = new Thread(Run) { IsBackground = true, Name = "pasta netns" };
    }

    /// <summary>Joins the namespace at <paramref name="netnsPath"/> on a thread of its own; throws <see cref="IOException"/> with why not.</summary>
    public static NamespaceSockets Open(string netnsPath)
    {
        var fd = Libc.Open(netnsPath, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"{netnsPath}: {Errno.Message(Errno.Last)}");
        }

        var sockets = new NamespaceSockets(fd);
        sockets._thread.Start();
        lock (sockets._gate)
        {
            while (!sockets._entered && sockets._failure is null)
            {
                Monitor.Wait(sockets._gate);
            }
        }

        if (sockets._failure is { } failure)
        {
            sockets.Dispose();
            throw new IOException($"cannot enter {netnsPath}: {failure}");
        }

        return sockets;
    }

    /// <summary>
    /// A non-blocking, unconnected TCP socket of the namespace (the caller owns it), or -1 when
    /// none can be made (no IPv6 there, out of descriptors, closing).
    /// </summary>
    public int Take(bool ipv6)
    {
        var family = ipv6 ? 1 : 0;
        lock (_gate)
        {
            _wanted[family] = true;
            if (_pools[family].Count == 0 && !_stopping)
            {
                // Empty (the first connection, or a burst): wait for one round of the thread.
                var round = _refills;
                _unavailable[family] = false;
                Request();
                while (_refills == round && !_stopping)
                {
                    Monitor.Wait(_gate);
                }
            }

            if (!_pools[family].TryDequeue(out var fd))
            {
                return -1;
            }

            if (_pools[family].Count < PoolSize / 2 && !_unavailable[family])
            {
                Request();
            }

            return fd;
        }
    }

    private void Request()
    {
        _refill = true;
        Monitor.PulseAll(_gate);
    }

    private void Run()
    {
        lock (_gate)
        {
            if (Libc.SetNs(_netns, Libc.CLONE_NEWNET) < 0)
            {
                _failure = Errno.Message(Errno.Last);
                Monitor.PulseAll(_gate);
                return;
            }

            _entered = true;
            Monitor.PulseAll(_gate);
        }

        Span<int> made = stackalloc int[PoolSize];
        while (true)
        {
            bool[] wanted;
            int[] missing = new int[2];
            lock (_gate)
            {
                while (!_refill && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                _refill = false;
                wanted = [_wanted[0], _wanted[1]];
                missing[0] = PoolSize - _pools[0].Count;
                missing[1] = PoolSize - _pools[1].Count;
            }

            // Made outside the lock: a caller taking a ready socket does not wait for these.
            for (var family = 0; family < 2; family++)
            {
                var count = 0;
                var failed = false;
                for (; wanted[family] && count < missing[family]; count++)
                {
                    var fd = Libc.Socket(family == 1 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
                    if (fd < 0)
                    {
                        failed = true;
                        break;
                    }

                    SpliceBuffers.Enlarge(fd);
                    made[count] = fd;
                }

                lock (_gate)
                {
                    for (var i = 0; i < count; i++)
                    {
                        _pools[family].Enqueue(made[i]);
                    }

                    // No retry on every take when the family cannot be had; the next empty pool asks again.
                    _unavailable[family] |= failed;
                }
            }

            lock (_gate)
            {
                _refills++;
                Monitor.PulseAll(_gate);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        lock (_gate)
        {
            foreach (var pool in _pools)
            {
                while (pool.TryDequeue(out var fd))
                {
                    Libc.Close(fd);
                }
            }
        }

        Libc.Close(_netns);
    }
}
