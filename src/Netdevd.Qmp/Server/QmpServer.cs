using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Retry;
using Netdevd.Qapi.Commands;
using Netdevd.Qmp.Endpoints;
using Netdevd.Qmp.Events;
using Netdevd.Qmp.Protocol;
using Netdevd.Qmp.Session;

namespace Netdevd.Qmp.Server;

/// <summary>
/// The QMP server: listens on any number of endpoints and serves up to
/// <see cref="QmpServerOptions.MaxClients"/> clients at once, each in its own session (unlike a
/// QEMU socket chardev, which takes one client at a time). Sessions share the command table and
/// the event broadcaster; nothing one client does can stall another, and nothing a session
/// meets, not even a bug, ends the server or its accept loops.
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
    private readonly TaskCompletionSource _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextSessionId;
    private readonly long _descriptorLimit = Netdevd.Native.Libc.OpenFileLimit();
    private long _refusedAtLimit;
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
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxClients, 1, nameof(QmpServerOptions.MaxClients));
        _greeting = QmpMessages.Greeting(QmpVersion.Create().ToQObject());
        if (!_options.GreetAfterStartup)
        {
            _serving.SetResult();
        }
    }

    /// <summary>Start-up is done: greet the clients that connected meanwhile, and every later one (see <see cref="QmpServerOptions.GreetAfterStartup"/>).</summary>
    public void StartServing() => _serving.TrySetResult();

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

        // The runtime starts its timer thread at the first timer, and starting a thread takes a
        // descriptor. Started only once descriptors have run out, it fails (OutOfMemoryException)
        // and timers stay dead, so the accept loop's back-off would never wake up. Start it now.
        await Task.Delay(1, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Bytes queued for sending over all sessions (for tests of the per-client bound).</summary>
    internal long QueuedBytes
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Values.Sum(s => s.Session.QueuedBytes);
            }
        }
    }

    /// <summary>
    /// Accepts until the server stops, whatever happens: an accept that fails (EMFILE or ENFILE
    /// when descriptors run out, ENOBUFS, ECONNABORTED, or anything unforeseen) leaves the
    /// listening socket as it was, so the loop waits a little, longer while failures go on, and
    /// accepts again; the connections queued meanwhile are served once descriptors are back.
    /// </summary>
    private async Task AcceptLoopAsync(QmpListener listener)
    {
        var failures = 0L;
        var backoff = new RetryBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1));
        var wait = TimeSpan.Zero;
        while (!_stopping.IsCancellationRequested)
        {
            System.Net.Sockets.Socket? client = null;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                if (failures > 0)
                {
                    QmpLog.AcceptRecovered(_logger, listener.Spec.Text, failures);
                    failures = 0;
                    backoff.Reset();
                }

                Admit(client);
                continue;
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                client?.Dispose();
                return;
            }
            catch (Exception e)
            {
                // A client accepted but not admitted (a bug in Admit) is closed, not leaked.
                client?.Dispose();

                // Logged once per run of failures, not once per retry.
                if (failures++ == 0)
                {
                    QmpLog.AcceptFailed(_logger, listener.Spec.Text, ExceptionText.Message(e));
                }

                wait = backoff.Next();
            }

            try
            {
                await Task.Delay(wait, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception)
            {
                // No timer to be had (a runtime out of descriptors): wait on this thread instead.
                Thread.Sleep(wait);
            }
        }
    }

    /// <summary>
    /// Starts a session for <paramref name="client"/>, or refuses it when
    /// <see cref="QmpServerOptions.MaxClients"/> are connected.
    /// </summary>
    /// <remarks>
    /// A client over the limit is accepted and closed at once rather than left in the listen
    /// backlog. Left there, it would look connected but wait for a greeting that may never come,
    /// a flood would fill the backlog so that new connections hang or fail, and the first slot to
    /// free would go to whatever stale connection sat at the head of the queue, often one whose
    /// client had long given up. Closed, it reads end of stream at once and knows to retry later,
    /// the backlog stays empty, the descriptor is held only for an instant, and the next client
    /// after one leaves is served straight away. The limit is logged once per run of refusals.
    /// </remarks>
    private void Admit(System.Net.Sockets.Socket client)
    {
        var firstRefusal = false;
        var firstReserveRefusal = false;
        QmpSession? session = null;
        lock (_lock)
        {
            if (_disposed != 0)
            {
                // Closed below.
            }
            else if (_sessions.Count >= _options.MaxClients)
            {
                firstRefusal = _refusedAtLimit++ == 0;
            }
            else if (InDescriptorReserve(client))
            {
                firstReserveRefusal = _refusedAtLimit++ == 0;
            }
            else
            {
                var id = ++_nextSessionId;
                session = new QmpSession(id, client, _dispatcher, _events, _greeting, _options, _logger, _stopping.Token);

                // RunSessionAsync yields before it runs, so it is registered before it can remove itself.
                _sessions[id] = (session, RunSessionAsync(session));
            }
        }

        if (session is null)
        {
            client.Dispose();
        }

        if (firstRefusal)
        {
            QmpLog.ClientLimitReached(_logger, _options.MaxClients);
        }

        if (firstReserveRefusal)
        {
            QmpLog.DescriptorReserveReached(_logger, DescriptorReserve(_descriptorLimit), _descriptorLimit);
        }
    }

    /// <summary>
    /// Whether <paramref name="client"/> came in on one of the last descriptors the process may
    /// open. The kernel hands out the lowest free number, so a client numbered within the reserve
    /// of the limit means every lower number is taken. Those last descriptors are the runtime's:
    /// out of them it cannot start a thread and aborts the process ("Out of memory."), which a
    /// client limit raised over the descriptor limit once let a flood of QMP clients do.
    /// </summary>
    private bool InDescriptorReserve(System.Net.Sockets.Socket client) =>
        client.Handle.ToInt64() >= _descriptorLimit - DescriptorReserve(_descriptorLimit);

    /// <summary>64 descriptors, or a quarter of a limit below 256.</summary>
    private static long DescriptorReserve(long limit) => Math.Min(64, limit / 4);

    private async Task RunSessionAsync(QmpSession session)
    {
        try
        {
            await Task.Yield();
            await _serving.Task.WaitAsync(_stopping.Token).ConfigureAwait(false);
            await session.RunAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The server stopped during start-up, before this client was greeted.
            session.Dispose();
        }
        catch (Exception e)
        {
            // RunAsync handles everything itself; this is the last line, so that no session can
            // fault the server or stay counted against the limit.
            QmpLog.SessionFailed(_logger, session.Id, ExceptionText.Full(e));
            session.Dispose();
        }
        finally
        {
            long refused;
            lock (_lock)
            {
                _sessions.Remove(session.Id);
                refused = _refusedAtLimit;
                _refusedAtLimit = 0;
            }

            if (refused > 0)
            {
                QmpLog.ClientLimitLeft(_logger, refused);
            }
        }
    }
}
