using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// Clients a loopback splice gave back (its connect in the namespace was refused or timed out),
/// handed from the splice's thread to the user netdev's I/O thread: queued here with an eventfd
/// write, then opened towards the guest as host work, so the splice never takes the engine lock
/// nor calls into the stack, and the netdev's thread never waits for a connect.
/// </summary>
internal sealed class SpliceReturns : HostWork, IHostIoHandler, IDisposable
{
    private readonly UserNetEngine _engine;
    private readonly Lock _gate = new();
    private readonly Queue<(HostForwardListener Listener, int Fd)> _returned = new();
    private readonly int _eventFd;
    private readonly int _token;
    private bool _closed;

    /// <summary>Creates and registers the eventfd (under the engine lock); throws <see cref="IOException"/>.</summary>
    public SpliceReturns(UserNetEngine engine)
    {
        _engine = engine;
        _eventFd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (_eventFd < 0)
        {
            throw new IOException($"eventfd: {Errno.Message(Errno.Last)}");
        }

        try
        {
            _token = engine.Poller.Register(_eventFd, this, Libc.EPOLLIN | Libc.EPOLLET);
        }
        catch
        {
            Libc.Close(_eventFd);
            throw;
        }
    }

    /// <summary>Any thread: <paramref name="fd"/> goes to <paramref name="listener"/>'s guest on the I/O thread; closed if the netdev is closing.</summary>
    public void Post(HostForwardListener listener, int fd)
    {
        lock (_gate)
        {
            if (!_closed)
            {
                _returned.Enqueue((listener, fd));
                Span<byte> one = stackalloc byte[8];
                BitConverter.TryWriteBytes(one, 1UL);
                _ = Libc.Write(_eventFd, one);
                return;
            }
        }

        Libc.Close(fd);
    }

    public void OnReady(uint events) => _engine.Queue(this);

    /// <summary>Opens every returned client towards the guest (I/O thread, under the engine lock).</summary>
    public override void Run()
    {
        Span<byte> drain = stackalloc byte[8];
        _ = Libc.Read(_eventFd, drain);
        while (true)
        {
            (HostForwardListener Listener, int Fd) item;
            lock (_gate)
            {
                if (!_returned.TryDequeue(out item))
                {
                    return;
                }
            }

            item.Listener.OpenTowardsGuest(item.Fd);
        }
    }

    /// <summary>Under the engine lock: no more returns; the queued ones are closed.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            while (_returned.TryDequeue(out var item))
            {
                Libc.Close(item.Fd);
            }
        }

        _engine.Poller.Unregister(_eventFd, _token);
        Libc.Close(_eventFd);
    }
}
