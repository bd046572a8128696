using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Qapi.Commands;
using Netdevd.Qmp.Endpoints;
using Netdevd.Qmp.Events;
using Netdevd.Qmp.Protocol;
using Netdevd.Qmp.Session;

namespace Netdevd.Qmp.Server;

/// <summary>
/// The QMP server: listens on any number of endpoints and serves any number of clients at
/// once, each in its own session (unlike a QEMU socket chardev, which takes one client at a
/// time). Sessions share the command table and the event broadcaster; nothing one client
/// does can stall another.
/// </summary>
public sealed class QmpServer : IAsyncDisposable
{
    private readonly QmpDispatcher _dispatcher;
    private readonly QmpEventBroadcaster _events;
    private readonly QmpServerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<QmpListener> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly Dictionary<long, (QmpSession Session, Task Run)> _sessions = [];
    private readonly Lock _lock = new();
    private readonly byte[] _greeting;
    private long _nextSessionId;
    private int _disposed;

    public QmpServer(
        IReadOnlyDictionary<string, QapiCommand> commands,
        QmpEventBroadcaster events,
        QmpServerOptions? options = null,
        ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(commands);
        ArgumentNullException.ThrowIfNull(events);
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger("Netdevd.Qmp");
        _dispatcher = new QmpDispatcher(commands, _logger);
        _events = events;
        _options = options ?? new QmpServerOptions();
        _greeting = QmpMessages.Greeting(QmpVersion.Create().ToQObject());
    }

    /// <summary>The endpoints listened on, with the addresses actually bound (ports chosen for <c>:0</c>).</summary>
    public IReadOnlyList<System.Net.EndPoint> BoundEndPoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _listeners.Select(l => l.BoundEndPoint)];
            }
        }
    }

    /// <summary>The number of connected clients.</summary>
    public int SessionCount
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>
    /// Binds every endpoint (all or none: on failure the ones bound are closed again), starts
    /// accepting, and, for endpoints with <c>wait=on</c>, returns only once each has had its
    /// first client, as QEMU blocks start-up for <c>-qmp ...,server=on,wait=on</c>.
    /// </summary>
    public async Task StartAsync(IEnumerable<QmpEndpointSpec> endpoints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var opened = new List<QmpListener>();
        try
        {
            foreach (var spec in endpoints)
            {
                opened.Add(QmpListener.Open(spec));
            }
        }
        catch
        {
            foreach (var l in opened)
            {
                await l.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        lock (_lock)
        {
            foreach (var listener in opened)
            {
                _listeners.Add(listener);
                _acceptLoops.Add(AcceptLoopAsync(listener));
            }
        }

        foreach (var listener in opened)
        {
            if (listener.Spec.Wait)
            {
                QmpLog.WaitingForClient(_logger, listener.Spec.Text);
                await listener.FirstClient.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops listening, lets every session finish its command and flush its answers, then closes them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        List<QmpListener> listeners;
        List<Task> loops;
        lock (_lock)
        {
            listeners = [.. _listeners];
            loops = [.. _acceptLoops];
        }

        foreach (var l in listeners)
        {
            await l.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(loops).ConfigureAwait(false);

        List<(QmpSession Session, Task Run)> sessions;
        lock (_lock)
        {
            sessions = [.. _sessions.Values];
        }

        foreach (var (session, _) in sessions)
        {
            session.Stop();
        }

        await Task.WhenAll(sessions.Select(s => s.Run)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(QmpListener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            System.Net.Sockets.Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                // EMFILE and friends: keep listening; the next accept may succeed.
                QmpLog.AcceptFailed(_logger, listener.Spec.Text, e.Message);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }

            StartSession(client);
        }
    }

    private void StartSession(System.Net.Sockets.Socket client)
    {
        var id = Interlocked.Increment(ref _nextSessionId);
        var session = new QmpSession(id, client, _dispatcher, _events, _greeting, _options.OutboxCapacity, _logger, _stopping.Token);
        lock (_lock)
        {
            if (_disposed != 0)
            {
                client.Dispose();
                return;
            }

            // RunSessionAsync yields before it runs, so it is registered before it can remove itself.
            _sessions[id] = (session, RunSessionAsync(session));
        }
    }

    private async Task RunSessionAsync(QmpSession session)
    {
        await Task.Yield();
        await session.RunAsync().ConfigureAwait(false);
        lock (_lock)
        {
            _sessions.Remove(session.Id);
        }
    }
}
