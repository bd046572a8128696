using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Qapi.Errors;
using Netdevd.Qmp.Events;
using Netdevd.Qmp.Protocol;
using Netdevd.Qmp.Server;

namespace Netdevd.Qmp.Session;

/// <summary>
/// One QMP client connection: greeting, then requests read and answered strictly one after
/// the other (no OOB), with one send loop draining the bounded outbox. A bad request costs
/// an error response, never the connection; the connection ends when the client closes it,
/// when it cannot keep up with events, or when the server stops.
/// </summary>
internal sealed class QmpSession : IDisposable
{
    // QEMU's monitor reads at most 4 KiB at a time; enough for any request line in practice.
    private const int ReadBufferSize = 4096;
    private static readonly TimeSpan s_drainTimeout = TimeSpan.FromSeconds(2);

    // How often a command still running checks whether its client is gone.
    private static readonly TimeSpan s_hangupPoll = TimeSpan.FromMilliseconds(200);

    private readonly QmpConnection _connection;
    private readonly QmpDispatcher _dispatcher;
    private readonly QmpEventBroadcaster _events;
    private readonly QmpOutbox _outbox;
    private readonly byte[] _greeting;
    private readonly ILogger _logger;

    // What commands run with: the server stopping, or this client gone while one waits.
    private readonly CancellationTokenSource _commandsCancelled;
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _abort = new();
    private volatile bool _closing;
    private bool _subscribed;

    public QmpSession(
        long id,
        Socket socket,
        QmpDispatcher dispatcher,
        QmpEventBroadcaster events,
        byte[] greeting,
        QmpServerOptions options,
        ILogger logger,
        CancellationToken serverStopping)
    {
        Id = id;
        Monitor = new QmpMonitor();
        _connection = new QmpConnection(socket, Monitor);
        _dispatcher = dispatcher;
        _events = events;
        _outbox = new QmpOutbox(options.OutboxCapacity, options.OutboxByteLimit);
        _greeting = greeting;
        _logger = logger;
        _commandsCancelled = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
    }

    public long Id { get; }

    public QmpMonitor Monitor { get; }

    /// <summary>Bytes queued for this client and not yet sent (what a client that does not read costs).</summary>
    public long QueuedBytes => _outbox.QueuedBytes;

    /// <summary>Runs until the connection ends; never throws.</summary>
    public async Task RunAsync()
    {
        var peer = _connection.Peer;
        QmpLog.SessionOpened(_logger, Id, peer);
        var sendLoop = SendLoopAsync();
        try
        {
            await _outbox.PostAsync(_greeting, _abort.Token).ConfigureAwait(false);
            await ReceiveLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (IsDisconnect(e))
        {
            // The client went away or the session was stopped.
        }
        catch (Exception e)
        {
            // A bug met while serving this client ends this client's session only.
            QmpLog.SessionFailed(_logger, Id, ExceptionText.Full(e));
        }
        finally
        {
            _closing = true;
            _events.Unsubscribe(this);
            _outbox.Complete();

            // Let what is queued (e.g. the answer to "quit") reach the client, but not forever.
            if (await Task.WhenAny(sendLoop, Task.Delay(s_drainTimeout)).ConfigureAwait(false) != sendLoop)
            {
                await _abort.CancelAsync().ConfigureAwait(false);
            }

            await sendLoop.ConfigureAwait(false);
            Dispose();
            QmpLog.SessionClosed(_logger, Id, peer);
        }
    }

    /// <summary>
    /// Queues an event line without waiting. A client whose outbox is full is dropped:
    /// one slow client must never hold up the emitter or the other clients.
    /// </summary>
    public void PostEvent(byte[] message)
    {
        if (!_closing && !_outbox.TryPost(message))
        {
            QmpLog.SessionOverflow(_logger, Id);
            Abort();
        }
    }

    /// <summary>Stops reading; the command in progress finishes and its answer is still sent.</summary>
    public void Stop()
    {
        try
        {
            _ = _stopReading.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Ends the session at once (callbacks run asynchronously, so callers never block here).</summary>
    public void Abort()
    {
        try
        {
            _ = _stopReading.CancelAsync();
            _ = _abort.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the connection and the descriptors it brought; <see cref="RunAsync"/> does this when it ends.</summary>
    public void Dispose()
    {
        _connection.Shutdown();
        _connection.Dispose();
        Monitor.Dispose();
        _stopReading.Dispose();
        _abort.Dispose();
        _commandsCancelled.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[ReadBufferSize];
        var input = new QmpInput();
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(_stopReading.Token, _abort.Token);
        while (true)
        {
            var n = await _connection.ReceiveAsync(buffer, reading.Token).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            foreach (var item in input.Feed(buffer.AsSpan(0, n)))
            {
                var response = item.Value is { } request
                    ? await DispatchAsync(request).ConfigureAwait(false)
                    : QmpMessages.Error(QapiErrorClass.GenericError, item.Error!, null);

                // Before the answer to qmp_capabilities is queued, so that a client that has read
                // it is sure to get every later event (one emitted meanwhile may precede it, as in QEMU).
                if (!_subscribed && Monitor.Negotiated)
                {
                    _subscribed = true;
                    _events.Subscribe(this);
                }

                await _outbox.PostAsync(response, _abort.Token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Runs one command. One that waits (a vhost-user netdev_add until its back-end comes, a
    /// chardev-add with wait=on until a client connects) is cancelled where it waits once its
    /// client has closed the connection: nobody is left for the answer, and what it holds (an id,
    /// a chardev) would stay taken until the server stops. QEMU likewise drops the requests of
    /// a monitor whose connection closed; the command itself blocks all of QEMU there.
    /// </summary>
    private async ValueTask<byte[]> DispatchAsync(Netdevd.Qapi.Objects.QObject request)
    {
        var pending = _dispatcher.DispatchAsync(request, Monitor, _commandsCancelled.Token);
        if (pending.IsCompleted)
        {
            return pending.Result;
        }

        var command = pending.AsTask();
        using var timer = new PeriodicTimer(s_hangupPoll);
        while (await Task.WhenAny(command, timer.WaitForNextTickAsync().AsTask()).ConfigureAwait(false) != command)
        {
            if (_connection.PeerClosed())
            {
                await _commandsCancelled.CancelAsync().ConfigureAwait(false);
                break;
            }
        }

        return await command.ConfigureAwait(false);
    }

    private async Task SendLoopAsync()
    {
        try
        {
            await foreach (var message in _outbox.ReadAllAsync(_abort.Token).ConfigureAwait(false))
            {
                await _connection.SendAsync(message, _abort.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsDisconnect(e))
        {
            // A client that cannot be written to is gone: stop reading it too.
            Abort();
        }
        catch (Exception e)
        {
            QmpLog.SessionFailed(_logger, Id, ExceptionText.Full(e));
            Abort();
        }
    }

    private static bool IsDisconnect(Exception e) =>
        e is OperationCanceledException or IOException or SocketException or ObjectDisposedException;
}
