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
    private readonly WakeEvent _wake = new();
    private readonly int _token;
    private bool _closed;

    /// <summary>Creates and registers the eventfd (under the engine lock); throws <see cref="IOException"/>.</summary>
    public SpliceReturns(UserNetEngine engine)
    {
        _engine = engine;
        try
        {
            _token = engine.Poller.Register(_wake.Fd, this, Libc.EPOLLIN | Libc.EPOLLET);
        }
        catch
        {
            _wake.Dispose();
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
                _wake.Signal();
                return;
            }
        }

        Libc.Close(fd);
    }

    public void OnReady(uint events) => _engine.Queue(this);

    /// <summary>Opens every returned client towards the guest (I/O thread, under the engine lock).</summary>
    public override void Run()
    {
        // Before the queue is read: a client posted after this signals again.
        _wake.Consume();
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

        _engine.Poller.Unregister(_wake.Fd, _token);
        _wake.Dispose();
    }
}
