using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Io;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Core.Clients;
using Netdevd.Core.Retry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// The <c>vhost-user-backend</c> netdev: a virtio-net device whose driver is a VM's, reached
/// through a vhost-user front-end (QEMU's <c>-netdev vhost-user</c>). A control thread accepts
/// (server) or connects to (client, again after <c>reconnect-ms</c>) one front-end at a time and
/// serves it as a <see cref="VhostUserSession"/>; when the front-end goes away (the VM stops or
/// restarts) the session is torn down and the next front-end is served, without recreating the
/// netdev. Frames from the peer go to the guest's receive ring; the guest's transmit rings are
/// drained by the queue pairs' workers.
/// </summary>
public sealed partial class VhostUserBackendClient : NetClient
{
    private readonly VhostUserEndpoint _endpoint;
    private readonly int _queuePairs;
    private readonly IoThreadPool _pool;
    private readonly ILogger _logger;
    private readonly Thread _control;
    private readonly CancellationTokenSource _stop = new();
    private volatile VhostUserSession? _session;

    // The receive queue whose buffer a sender is reading into (under the client's lock).
    private VhostUserReceiver? _leased;
    private long _guestDrops;
    private long _refused;
    private long _sessions;
    private string _state = "";

    internal VhostUserBackendClient(string name, VhostUserEndpoint endpoint, int queuePairs, IoThreadPool pool, ILogger logger)
        : base(name, NetClientDriver.VhostUserBackend)
    {
        _endpoint = endpoint;
        _queuePairs = queuePairs;
        _pool = pool;
        _logger = logger;
        _control = new Thread(ControlLoop) { IsBackground = true, Name = $"vhost-user-{name}" };
        UpdateInfo("waiting");
    }

    /// <summary>Frames lost on the guest side: no running receive queue, a frame no buffer can hold, a broken transmit frame.</summary>
    public long GuestDrops => Interlocked.Read(ref _guestDrops);

    /// <summary>Front-end connections closed because netdevd refused a message or a ring.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refused);

    /// <summary>Front-end connections served so far (the current one included).</summary>
    public long Sessions => Interlocked.Read(ref _sessions);

    /// <summary>Whether a front-end is connected now.</summary>
    public bool Connected => _session is not null;

    /// <summary>
    /// A front-end's session ended (it closed the socket, or netdevd refused it): raised on the
    /// control thread before the next front-end is served. passt's --one-off leaves on it, as
    /// passt does when its vhost-user front-end goes.
    /// </summary>
    public event EventHandler? FrontendGone;

    /// <summary>The link carries virtio-net headers whenever the peer can: offloads stay end to end.</summary>
    public override bool HasVnetHeader => true;

    internal void Start() => _control.Start();

    internal VhostUserEndpoint Endpoint => _endpoint;

    internal DeliveryResult SendFromGuest(ReadOnlySpan<byte> frame) => Send(frame);

    internal static void BeginBatch() => BeginSendBatch();

    internal void EndBatch() => SendBatchEnd();

    internal void FlushReceived() => FlushQueue();

    internal void CountGuestDrop() => Interlocked.Increment(ref _guestDrops);

    internal void CountRefused()
    {
        Interlocked.Increment(ref _refused);
        UpdateInfo(null);
    }

    /// <summary>Worker: SEND_RARP after a migration, as QEMU's announce does: a RARP from the guest's MAC.</summary>
    internal void Announce(byte[] mac)
    {
        Span<byte> buffer = stackalloc byte[VnetHeaderSize + 60];
        buffer.Clear();
        var header = VnetHeaderLength;
        var frame = buffer[..(header + 60)];
        var ethernet = frame[header..];
        ethernet[..6].Fill(0xff);
        mac.CopyTo(ethernet[6..]);
        ethernet[12] = 0x80;    // EtherType RARP (0x8035)
        ethernet[13] = 0x35;
        var body = ethernet[14..];
        body[1] = 1;            // hardware type: Ethernet
        body[2] = 0x08;         // protocol type: IPv4
        body[4] = 6;
        body[5] = 4;
        body[7] = 3;            // reverse request
        mac.CopyTo(body[8..]);  // sender and target hardware address: the guest's
        mac.CopyTo(body[18..]);
        _ = Send(frame);
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        var receiver = _session?.Receiver();
        if (receiver is null)
        {
            CountGuestDrop();
            return ReceiveResult.Accepted;
        }

        return receiver.Receive(frame, UsingVnetHeader, InSendBatch);
    }

    /// <summary>
    /// A frame in pieces (the user netdev's large TCP segments, their payload still in its send
    /// ring) is copied into the guest's buffers from the pieces: one copy where joining it first
    /// made two.
    /// </summary>
    protected override bool ReceivesGather => true;

    protected override ReceiveResult ReceiveGather(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2)
    {
        var receiver = _session?.Receiver();
        if (receiver is null)
        {
            CountGuestDrop();
            return ReceiveResult.Accepted;
        }

        return receiver.Receive(new FramePieces(head, body1, body2), UsingVnetHeader, InSendBatch);
    }

    protected override bool LendsReceiveBuffers => true;

    protected override bool TryLeaseReceiveBuffer(out Span<byte> buffer)
    {
        buffer = default;
        var receiver = _session?.Receiver();
        if (receiver is null || !UsingVnetHeader || !receiver.TryLease(out buffer))
        {
            return false;
        }

        _leased = receiver;
        return true;
    }

    protected override void CompleteReceiveBuffer(int length)
    {
        var receiver = _leased;
        _leased = null;
        receiver?.CompleteLease(length, InSendBatch);
    }

    protected override void OnBatchEnd() => _session?.FlushReceiveSignals();

    protected override void OnPeerReady() => _session?.ResumeTransmit();

    protected override ValueTask CloseAsync()
    {
        _stop.Cancel();
        _endpoint.Close();
        _session?.Stop();
        if (_control.IsAlive && Environment.CurrentManagedThreadId != _control.ManagedThreadId)
        {
            _control.Join();
        }

        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The control thread. A bug in it (an exception no path here expects) is a fault of this
    /// netdev, counted and logged, after which it serves no more front-ends: on a thread of its
    /// own, an exception left uncaught would end the process.
    /// </summary>
    private void ControlLoop()
    {
        try
        {
            ServeFrontEnds();
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            UpdateInfo("stopped after an internal error");
        }
    }

    private void ServeFrontEnds()
    {
        var failures = 0L;
        var backoff = RetryBackoff.ForAccept();
        while (!_stop.IsCancellationRequested)
        {
            Socket? socket;
            try
            {
                socket = _endpoint.Next(_stop.Token, out var wait);
                if (socket is null)
                {
                    if (wait is { } why)
                    {
                        UpdateInfo(why);
                    }

                    if (_endpoint.Retry is not { } retry || LongWait.WaitOne(_stop.Token.WaitHandle, retry))
                    {
                        return;
                    }

                    continue;
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException || (e is SocketException && _stop.IsCancellationRequested))
            {
                // Deleted: closing the listener ended the accept.
                return;
            }
            catch (SocketException e)
            {
                // The accept failed with the front-end's connection still in the backlog
                // (descriptors or memory ran out): ending here left the netdev "waiting" and the
                // VM hanging until netdev_del. Wait, longer while failures go on, and accept again.
                if (!WaitAfterFailure(e.Message))
                {
                    return;
                }

                continue;
            }

            VhostUserSession session;
            try
            {
                session = new VhostUserSession(this, new VhostUserChannel(socket), _queuePairs, _pool, _logger);
            }
            catch (IOException e)
            {
                // Accepted, but no descriptor for the session's threads (eventfd): thrown out of
                // this thread it ended the daemon. The front-end is closed (QEMU reconnects) and
                // the next one accepted after the same wait.
                socket.Dispose();
                if (!WaitAfterFailure(e.Message))
                {
                    return;
                }

                continue;
            }

            if (failures > 0)
            {
                LogAcceptRecovered(_logger, Name, failures);
                failures = 0;
                backoff.Reset();
            }

            Interlocked.Increment(ref _sessions);
            _session = session;
            if (_stop.IsCancellationRequested)
            {
                // Deleted while this front-end was being accepted: CloseAsync may have missed it.
                session.Stop();
            }

            UpdateInfo("connected");
            var where = _endpoint.Describe();
            LogConnected(_logger, Name, where);
            string reason;
            try
            {
                reason = session.Run();
            }
            finally
            {
                _session = null;
                session.Dispose();
            }

            LogDisconnected(_logger, Name, reason);
            UpdateInfo(_endpoint.IsServer ? "waiting" : "disconnected");
            FrontendGone?.Invoke(this, EventArgs.Empty);
            if (!_endpoint.IsServer && _endpoint.Retry is null)
            {
                return;
            }
        }

        // Logged once per run of failures; false when the netdev is deleted meanwhile.
        bool WaitAfterFailure(string error)
        {
            if (failures++ == 0)
            {
                LogAcceptFailed(_logger, Name, error);
            }

            return !_stop.Token.WaitHandle.WaitOne(backoff.Next());
        }
    }

    private void UpdateInfo(string? state)
    {
        if (state is not null)
        {
            _state = state;
        }

        var refused = RefusedConnections;
        Info = refused == 0
            ? $"vhost-user-backend: {_endpoint.Describe()}, {_state}"
            : $"vhost-user-backend: {_endpoint.Describe()}, {_state}, {refused} connection(s) refused";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "netdev '{Netdev}' (vhost-user-backend): front-end connected on {Endpoint}")]
    private static partial void LogConnected(ILogger logger, string netdev, string endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "netdev '{Netdev}' (vhost-user-backend): front-end gone ({Reason})")]
    private static partial void LogDisconnected(ILogger logger, string netdev, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "netdev '{Netdev}' (vhost-user-backend): accepting a front-end failed ({Error}); trying again")]
    private static partial void LogAcceptFailed(ILogger logger, string netdev, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "netdev '{Netdev}' (vhost-user-backend): accepting again after {Failures} failed attempt(s)")]
    private static partial void LogAcceptRecovered(ILogger logger, string netdev, long failures);
}
