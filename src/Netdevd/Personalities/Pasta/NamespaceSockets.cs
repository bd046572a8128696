namespace Netdevd.Personalities.Pasta;

/// <summary>
/// TCP sockets of the pasta namespace, made by its <see cref="NamespaceThread"/> (a socket
/// belongs for good to the namespace it was made in: once made, it is connected and polled from
/// any thread). A few are kept ready per family, as pasta keeps a pool, so a spliced connection
/// seldom waits for that thread.
/// </summary>
internal sealed class NamespaceSockets : IDisposable
{
    /// <summary>Ready sockets per family; the thread tops the pool up when it falls below half.</summary>
    private const int PoolSize = 16;

    private readonly NamespaceThread _namespace;
    private readonly bool _ownsThread;
    /// <summary>Guards the pools and flags; also the monitor callers wait on for a refill.</summary>
    private readonly object _gate = new();
    private readonly Queue<int>[] _pools = [new(), new()];
    private readonly bool[] _wanted = new bool[2];
    private readonly bool[] _unavailable = new bool[2];
    private readonly Action _refill;
    private bool _refillQueued;
    private bool _stopping;
    private long _refills;

    /// <param name="ns">The thread that makes the sockets.</param>
    /// <param name="ownsThread">Whether <see cref="Dispose"/> ends that thread too (else its owner does, after this).</param>
    public NamespaceSockets(NamespaceThread ns, bool ownsThread)
    {
        _namespace = ns;
        _ownsThread = ownsThread;
        _refill = Refill;
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
                if (Request())
                {
                    while (_refills == round && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }
                }
            }

            if (!_pools[family].TryDequeue(out var fd))
            {
                return -1;
            }

            if (_pools[family].Count < PoolSize / 2 && !_unavailable[family])
            {
                _ = Request();
            }

            return fd;
        }
    }

    /// <summary>Under <c>_gate</c>: has the namespace's thread top the pools up; false when it no longer runs anything.</summary>
    private bool Request()
    {
        if (_refillQueued)
        {
            return true;
        }

        _refillQueued = !_stopping && _namespace.Post(_refill);
        return _refillQueued;
    }

    /// <summary>On the namespace's thread: makes what the pools miss, outside the lock so a caller taking a ready socket does not wait.</summary>
    private void Refill()
    {
        bool[] wanted;
        int[] missing = new int[2];
        lock (_gate)
        {
            _refillQueued = false;
            if (_stopping)
            {
                return;
            }

            wanted = [_wanted[0], _wanted[1]];
            missing[0] = PoolSize - _pools[0].Count;
            missing[1] = PoolSize - _pools[1].Count;
        }

        Span<int> made = stackalloc int[PoolSize];
        for (var family = 0; family < 2; family++)
        {
            var count = 0;
            var failed = false;
            for (; wanted[family] && count < missing[family]; count++)
            {
                var fd = Native.Libc.Socket(family == 1 ? Native.Libc.AF_INET6 : Native.Libc.AF_INET, Native.Libc.SOCK_STREAM | Native.Libc.SOCK_NONBLOCK | Native.Libc.SOCK_CLOEXEC, 0);
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
                    if (_stopping)
                    {
                        _ = Native.Libc.Close(made[i]);
                    }
                    else
                    {
                        _pools[family].Enqueue(made[i]);
                    }
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

        if (_ownsThread)
        {
            // A refill queued before this runs to its end first (it sees the stop and makes nothing).
            _namespace.Dispose();
        }

        lock (_gate)
        {
            foreach (var pool in _pools)
            {
                while (pool.TryDequeue(out var fd))
                {
                    _ = Native.Libc.Close(fd);
                }
            }
        }
    }
}
