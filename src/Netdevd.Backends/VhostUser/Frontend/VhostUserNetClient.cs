using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Core.Chardevs;
using Netdevd.Core.Clients;
using Netdevd.Core.Retry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.VhostUser.Frontend;

/// <summary>
/// The <c>vhost-user</c> netdev (QEMU's net/vhost-user.c with its virtio-net device): netdevd
/// drives a vhost-user back-end as a virtio-net driver would, with its own memory and rings, so a
/// DPDK vhost port or another netdevd's back-end becomes a client on a hub. A control thread
/// connects through the chardev, sets the back-end up and waits for it to go away; then the link
/// goes down and, when the chardev reconnects (a server always, a client with reconnect-ms),
/// the next connection is set up from scratch.
/// </summary>
public sealed class VhostUserNetClient : NetClient
{
    private readonly Chardev _chardev;
    private readonly int _queuePairs;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private volatile FrontendSession? _session;

    // The session whose transmit slot a sender is reading into (under the client's lock).
    private FrontendSession? _leased;
    private volatile bool _offloads;
    private long _dropped;
    private long _refused;

    internal VhostUserNetClient(string name, Chardev chardev, int queuePairs, ILogger log)
        : base(name, NetClientDriver.VhostUser)
    {
        _chardev = chardev;
        _queuePairs = queuePairs;
        _log = log;
        Info = $"vhost-user0 to {chardev.Id}";
        _thread = new Thread(Run) { IsBackground = true, Name = $"vhost-user {name}" };
    }

    /// <summary>Completes when the first back-end is set up; faults when it could not be (creation fails then).</summary>
    internal Task Started => _started.Task;

    /// <summary>The virtio features of the current connection (0 while none).</summary>
    public ulong NegotiatedFeatures => _session?.Features ?? 0;

    public override bool HasVnetHeader => _offloads;

    internal void Start() => _thread.Start();

    internal DeliveryResult SendFrame(ReadOnlySpan<byte> frame) => Send(frame);

    internal static void BeginBatch() => BeginSendBatch();

    internal void EndBatch() => SendBatchEnd();

    internal void FlushIncoming() => FlushQueue();

    /// <summary>Frames this netdev dropped itself (no back-end, too large, spread over buffers).</summary>
    public long DroppedFrames => Interlocked.Read(ref _dropped);

    internal void CountDrop() => Interlocked.Increment(ref _dropped);

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        var session = _session;
        if (session is null)
        {
            CountDrop();
            return ReceiveResult.Accepted;
        }

        return session.Transmit(frame, UsingVnetHeader, InSendBatch);
    }

    protected override bool LendsReceiveBuffers => true;

    protected override bool TryLeaseReceiveBuffer(out Span<byte> buffer)
    {
        buffer = default;
        var session = _session;
        if (session is null || !UsingVnetHeader || !session.TryLeaseTransmitSlot(out buffer))
        {
            return false;
        }

        _leased = session;
        return true;
    }

    protected override void CompleteReceiveBuffer(int length)
    {
        var session = _leased;
        _leased = null;
        session?.CompleteTransmitSlot(length, InSendBatch);
    }

    protected override void OnBatchEnd() => _session?.FlushBatch();

    protected override void OnPeerReady() => _session?.ResumeReceive();

    /// <summary>Back-end connections cut because the back-end broke a virtqueue (returned a descriptor it did not hold).</summary>
    public long RefusedConnections => Interlocked.Read(ref _refused);

    /// <summary>The session ends its connection over a ring the back-end broke (the next one starts afresh).</summary>
    internal void ReportBrokenRing(string reason)
    {
        Interlocked.Increment(ref _refused);
        if (_log.IsEnabled(LogLevel.Warning))
        {
            _log.LogWarning("vhost-user {Name}: the back-end broke a virtqueue ({Reason}); disconnecting", Name, reason);
        }
    }

    /// <summary>
    /// The session thread. A bug in it (an exception no path here expects) is a fault of this
    /// netdev, counted and logged, after which it waits for no more back-ends (a pending
    /// netdev_add fails): on a thread of its own, an exception left uncaught would end the process.
    /// </summary>
    private void Run()
    {
        try
        {
            ServeBackEnds();
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            SetLinkUp(false);
            _started.TrySetException(new VhostUserFrontendException(e.Message, e));
        }
    }

    private void ServeBackEnds()
    {
        var first = true;
        var failures = 0L;
        // Set-ups that failed since the last one that worked: a back-end that keeps failing (or a
        // client chardev reconnecting to a broken one every reconnect-ms) is reported once, as
        // QEMU reports a chardev's failed connects once, not a line per attempt for ever.
        var setupFailures = 0L;
        var backoff = RetryBackoff.ForAccept();
        while (!_closing.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = _chardev.ConnectAsync(_closing.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is OperationCanceledException || (e is SocketException or ObjectDisposedException && _closing.IsCancellationRequested))
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode != SocketError.OperationAborted)
            {
                // A server chardev's accept failed with the back-end's connection still in the
                // backlog (descriptors or memory ran out): giving up here left the netdev without
                // a back-end for good. Wait, longer while failures go on, and accept again.
                if (failures++ == 0 && _log.IsEnabled(LogLevel.Warning))
                {
                    _log.LogWarning("vhost-user {Name}: accepting a back-end failed ({Error}); trying again", Name, e.Message);
                }

                _closing.Token.WaitHandle.WaitOne(backoff.Next());
                continue;
            }
            catch (Exception e) when (e is ChardevException or SocketException or ObjectDisposedException)
            {
                _started.TrySetException(new VhostUserFrontendException(e.Message, e));
                break;
            }

            if (failures > 0)
            {
                if (_log.IsEnabled(LogLevel.Information))
                {
                    _log.LogInformation("vhost-user {Name}: accepting again after {Failures} failed attempt(s)", Name, failures);
                }

                failures = 0;
                backoff.Reset();
            }

            using var channel = new VhostUserChannel(socket);
            FrontendSession session;
            try
            {
                // The set-up waits for the back-end's answers with blocking reads: one that never
                // answers would hold this thread, and CloseAsync's join with it, for ever (netdev_del
                // holds the registry). Closing cuts the connection instead; an established session
                // is left to its clean teardown (RequestStop).
                using (_closing.Token.Register(static state => ((VhostUserChannel)state!).Shutdown(), channel))
                {
                    session = FrontendSession.Start(this, channel, _queuePairs);
                }
            }
            catch (Exception e) when (e is VhostUserFrontendException or SocketException or IOException or InvalidDataException)
            {
                _chardev.Disconnected();
                if (_closing.IsCancellationRequested)
                {
                    break;
                }

                if (first && _chardev.ReconnectDelay == TimeSpan.Zero)
                {
                    _started.TrySetException(e);
                    break;
                }

                if (setupFailures++ == 0)
                {
                    if (_log.IsEnabled(LogLevel.Warning))
                    {
                        _log.LogWarning("vhost-user {Name}: back-end set-up failed: {Error}; until one succeeds, further failures are logged at debug level", Name, e.Message);
                    }
                }
                else if (_log.IsEnabled(LogLevel.Debug))
                {
                    _log.LogDebug("vhost-user {Name}: back-end set-up failed again: {Error}", Name, e.Message);
                }

                Pause();
                continue;
            }

            _offloads = FrontendFeatures.CarriesOffloads(session.Features);
            _session = session;
            NegotiateVnetHeader();
            SetLinkUp(true);
            first = false;
            _started.TrySetResult();
            if (_log.IsEnabled(LogLevel.Information))
            {
                if (setupFailures > 0)
                {
                    _log.LogInformation("vhost-user {Name}: back-end connected after {Failures} failed set-up(s), features {Features:x}", Name, setupFailures, session.Features);
                }
                else
                {
                    _log.LogInformation("vhost-user {Name}: back-end connected, features {Features:x}", Name, session.Features);
                }
            }

            setupFailures = 0;
            session.WaitForHangup();

            SetLinkUp(false);
            _session = null;
            session.Dispose();
            _chardev.Disconnected();
            if (_closing.IsCancellationRequested)
            {
                break;
            }

            if (_log.IsEnabled(LogLevel.Information))
            {
                _log.LogInformation("vhost-user {Name}: back-end disconnected", Name);
            }

            Pause();
        }

        _started.TrySetException(new OperationCanceledException());
    }

    /// <summary>A client waits reconnect-ms before connecting again (a server just accepts the next).</summary>
    private void Pause()
    {
        if (_chardev.ReconnectDelay > TimeSpan.Zero)
        {
            _ = LongWait.WaitOne(_closing.Token.WaitHandle, _chardev.ReconnectDelay);
        }
    }

    protected override async ValueTask CloseAsync()
    {
        _closing.Cancel();
        if (_session is { } session)
        {
            // Clean teardown as QEMU stops a device: GET_VRING_BASE per ring; the thread ends on the answers.
            session.RequestStop();
        }

        if (_thread.IsAlive)
        {
            await Task.Run(() =>
            {
                if (!_thread.Join(TimeSpan.FromSeconds(2)))
                {
                    // A back-end that does not answer: cut the connection.
                    _session?.Dispose();
                    _thread.Join();
                }
            }).ConfigureAwait(false);
        }

        _chardev.Release(this);
        _closing.Dispose();
    }
}
