using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Clients;

/// <summary>
/// One end of a virtual link: a backend (netdev), a hub port, or a NIC model of an embedder.
/// QEMU's NetClientState. A client has at most one peer; peering is symmetric.
/// </summary>
/// <remarks>
/// <para>Data path contract (DESIGN.md): a backend that reads a frame calls <see cref="Send"/>,
/// which hands it synchronously to the peer's <see cref="Receive"/> on the same thread, with the
/// peer's lock held. When the peer answers <see cref="ReceiveResult.Busy"/> (or already has
/// queued frames) the frame is copied into the peer's bounded queue and the sender is told
/// <see cref="DeliveryResult.Queued"/>: it should stop reading its own input until
/// <see cref="OnPeerReady"/>. The peer calls <see cref="FlushQueue"/> when it can take frames
/// again, which drains the queue and wakes the waiting senders.</para>
/// <para><see cref="Receive"/> runs under this client's lock and must not block; it must not
/// call <see cref="Send"/> on this same client synchronously either (queue replies and send
/// them after returning), so that two clients never wait on each other's locks.</para>
/// <para>Batches: a sender that reads many frames with one system call brackets their delivery
/// with <see cref="BeginSendBatch"/> and <see cref="SendBatchEnd"/> (in a finally). While the
/// current thread is inside such a bracket (<see cref="InSendBatch"/>), a receiver may take a
/// frame without writing it yet (copying it into an output buffer of its own) and write all it
/// took with one system call in <see cref="OnBatchEnd"/>, which the bracket's end calls on the
/// peer (a hub port passes it on to its hub's other ports' peers). Outside a bracket a receiver
/// writes at once, so senders that never bracket lose nothing, and a bracket never holds a frame
/// longer than the sender's own batch: no timers, no waiting for more. Both members are no-ops
/// for clients that do not coalesce; a client that passes frames on synchronously to others
/// (as a hub does) must pass <see cref="OnBatchEnd"/> on to them too.</para>
/// <para>Faults: an exception from <see cref="Receive"/>, <see cref="OnBatchEnd"/> or
/// <see cref="OnPeerReady"/> is contained here (<see cref="ContainFault"/>): the frame is dropped
/// and counted, the sender and its thread go on. Backends contain their own input threads the same way.</para>
/// </remarks>
public abstract partial class NetClient : IAsyncDisposable
{
    /// <summary>QEMU's NET_BUFSIZE: the largest frame any client takes (4096 + 65536).</summary>
    public const int MaxFrameSize = 4096 + 65536;

    // Per thread: delivery is synchronous, so a receiver runs on the thread of the sender whose
    // batch it belongs to. Nested brackets (a batch delivered while another's runs) count.
    [ThreadStatic]
    private static int t_sendBatchDepth;

    private readonly Lock _lock = new();
    private readonly NetQueue _incoming;
    private volatile NetClient? _peer;
    private volatile bool _linkDown;
    private volatile bool _usingVnetHeader;
    private int _closed;
    private int _faultLogged;
    private ILogger _logger = NullLogger.Instance;

    protected NetClient(string name, NetClientDriver driver, int maxQueuedFrames = 4096, long maxQueuedBytes = 16 << 20)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        Driver = driver;
        _incoming = new NetQueue(maxQueuedFrames, maxQueuedBytes);
    }

    /// <summary>The id (netdev id, hub port id or NIC name).</summary>
    public string Name { get; }

    /// <summary>The netdev type this client implements.</summary>
    public NetClientDriver Driver { get; }

    /// <summary>QEMU's info_str: a short status shown by <c>query-netdevs</c> (and QEMU's <c>info network</c>).</summary>
    public string Info { get; protected set; } = "";

    public NetClient? Peer => _peer;

    public bool LinkDown => _linkDown;

    public NetClientStats Stats { get; } = new();

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Where this client reports what a user should hear of: its first fault, a hub loop. The
    /// registry sets it when it creates or attaches the client; standalone clients log nowhere.
    /// </summary>
    public ILogger FaultLogger
    {
        get => _logger;
        set => _logger = value ?? NullLogger.Instance;
    }

    /// <summary>
    /// Records that handling one frame (or one I/O callback) of this client threw
    /// <paramref name="fault"/> in <paramref name="layer"/> (the component that was called: this
    /// client, a queue of it, a poll target). Counts it in <see cref="NetClientStats.Faults"/>, logs
    /// the first one of this client with its name and the layer, and returns whether to swallow the
    /// exception: false when <see cref="FrameFaults.Rethrow"/> is set. Meant for an exception filter,
    /// <c>catch (Exception e) when (client.ContainFault(e, this))</c>, at the entry of a frame's
    /// handling, so a rethrown fault keeps its original stack.
    /// </summary>
    public bool ContainFault(Exception fault, object layer)
    {
        ArgumentNullException.ThrowIfNull(fault);
        ArgumentNullException.ThrowIfNull(layer);
        Stats.CountFault();
        if (_logger.IsEnabled(LogLevel.Error) && Interlocked.Exchange(ref _faultLogged, 1) == 0)
        {
            // The thrower names the layer that has the bug (a parser, the TCP input, ...).
            _logger.LogError(
                fault,
                "netdev '{Netdev}' ({Driver}): {Layer} dropped a frame after {Exception} in {Thrower}: {Message}; further faults of this netdev are only counted (query-netdevs: stats.faults)",
                Name,
                Driver.ToQapi(),
                layer.GetType().Name,
                fault.GetType().Name,
                Thrower(fault),
                fault.Message);
        }

        return !FrameFaults.Rethrow;
    }

    /// <summary>
    /// "Type.Method" of the frame that threw, from the trace's first line: the reflection route
    /// (<see cref="Exception.TargetSite"/>) is not there in a trimmed, ahead-of-time build.
    /// </summary>
    private static string Thrower(Exception fault)
    {
        var trace = fault.StackTrace.AsSpan().TrimStart();
        if (trace.StartsWith("at ", StringComparison.Ordinal))
        {
            trace = trace[3..];
        }

        var end = trace.IndexOfAny('(', '\n');
        var method = (end < 0 ? trace : trace[..end]).TrimEnd();
        var lastDot = method.LastIndexOf('.');
        var typeDot = lastDot <= 0 ? -1 : method[..lastDot].LastIndexOf('.');
        return method.IsEmpty ? "?" : method[(typeDot + 1)..].ToString();
    }

    /// <summary>Makes <paramref name="a"/> and <paramref name="b"/> peers; both must be free.</summary>
    public static void Connect(NetClient a, NetClient b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a._peer is not null || b._peer is not null || ReferenceEquals(a, b))
        {
            throw new InvalidOperationException($"'{a.Name}' or '{b.Name}' already has a peer");
        }

        if (a.LendsReceiveBuffers || b.LendsReceiveBuffers)
        {
            // Before either sees the other: a sender that finds its peer may then ask it.
            s_lenderConnected = true;
        }

        a._peer = b;
        b._peer = a;
        a.NegotiateVnetHeader();
        b.NegotiateVnetHeader();
        a.OnPeerChanged();
        b.OnPeerChanged();
    }

    /// <summary>Detaches this client from its peer (both sides lose the other).</summary>
    public void Disconnect()
    {
        var peer = _peer;
        if (peer is null)
        {
            return;
        }

        _peer = null;
        if (ReferenceEquals(peer._peer, this))
        {
            peer._peer = null;
            peer.NegotiateVnetHeader();
            peer.OnPeerChanged();
        }

        NegotiateVnetHeader();
        OnPeerChanged();
    }

    /// <summary>
    /// Whether this client can take and give frames that begin with a virtio-net header
    /// (QEMU's qemu_has_vnet_hdr): a tap opened with IFF_VNET_HDR, a hub port whose other ports
    /// all can. Fixed for a client's life, except a hub port's, which follows its hub.
    /// </summary>
    public virtual bool HasVnetHeader => false;

    /// <summary>
    /// Whether the frames this client sends and receives carry a <see cref="VnetHeaderSize"/>-byte
    /// virtio-net header (<c>struct virtio_net_hdr_mrg_rxbuf</c>) in front of the Ethernet frame:
    /// true exactly when this client and its peer both <see cref="HasVnetHeader"/>. Negotiated on
    /// connect and disconnect (QEMU's using_vnet_hdr/set_vnet_hdr_len, which virtio-net drives);
    /// a client without a header peer must strip, add or resolve headers itself.
    /// </summary>
    public bool UsingVnetHeader => _usingVnetHeader;

    /// <summary>The header length frames on this link carry: <see cref="VnetHeaderSize"/> or 0.</summary>
    public int VnetHeaderLength => _usingVnetHeader ? VnetHeaderSize : 0;

    /// <summary>The one header layout netdevd passes between clients: virtio 1.0's 12-byte header.</summary>
    public const int VnetHeaderSize = 12;

    /// <summary>
    /// Sets the link state (QMP <c>set_link</c>). A down client drops what it sends and what it is given.
    /// </summary>
    public void SetLinkUp(bool up)
    {
        if (_linkDown == !up)
        {
            return;
        }

        _linkDown = !up;
        OnLinkStatusChanged();
    }

    /// <summary>Hands a frame to the peer (see the type's remarks).</summary>
    protected internal DeliveryResult Send(ReadOnlySpan<byte> frame)
    {
        var peer = _peer;
        if (_linkDown || peer is null)
        {
            // QEMU reports such frames as sent and drops them silently; we count them.
            Stats.CountDrop();
            return DeliveryResult.Delivered;
        }

        Stats.SentFrames++;
        Stats.SentBytes += frame.Length;
        return peer.Deliver(frame, this);
    }

    /// <summary>
    /// Whether the current thread is delivering a batch that will end with <see cref="SendBatchEnd"/>:
    /// a receiver may then defer its write to <see cref="OnBatchEnd"/> (see the type's remarks).
    /// </summary>
    protected static bool InSendBatch => t_sendBatchDepth > 0;

    /// <summary>Opens a batch on this thread; pair with <see cref="SendBatchEnd"/> in a finally.</summary>
    protected internal static void BeginSendBatch() => t_sendBatchDepth++;

    /// <summary>Closes the batch opened by <see cref="BeginSendBatch"/> and tells the peer to write what it deferred.</summary>
    protected internal void SendBatchEnd()
    {
        t_sendBatchDepth--;
        _peer?.EndBatchContained();
    }

    /// <summary>Calls <see cref="OnBatchEnd"/>; a fault in it is this client's, not the caller's.</summary>
    internal void EndBatchContained()
    {
        try
        {
            OnBatchEnd();
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // Counted and logged; what the batch deferred is lost, the client goes on.
        }
    }

    /// <summary>Calls <see cref="OnPeerReady"/>; a fault in it is this client's, not the caller's.</summary>
    internal void WakeContained()
    {
        try
        {
            OnPeerReady();
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // Counted and logged; the client resumes at its next wake.
        }
    }

    /// <summary>
    /// The sender's batch ended: write whatever <see cref="Receive"/> deferred. Runs on the
    /// sender's thread without this client's lock (take your own). Default: nothing to do.
    /// </summary>
    protected internal virtual void OnBatchEnd()
    {
    }

    /// <summary>Delivers one frame to this client from <paramref name="sender"/>.</summary>
    internal virtual DeliveryResult Deliver(ReadOnlySpan<byte> frame, NetClient sender)
    {
        lock (_lock)
        {
            if (_linkDown || IsClosed || frame.Length > MaxFrameSize)
            {
                Stats.CountDrop();
                return frame.Length > MaxFrameSize ? DeliveryResult.Dropped : DeliveryResult.Delivered;
            }

            if (_incoming.Count == 0)
            {
                ReceiveResult result;
                try
                {
                    result = Receive(frame);
                }
                catch (Exception e) when (ContainFault(e, this))
                {
                    // The frame is dropped (counted as a fault); the sender goes on.
                    return DeliveryResult.Delivered;
                }

                if (result == ReceiveResult.Accepted)
                {
                    Stats.ReceivedFrames++;
                    Stats.ReceivedBytes += frame.Length;
                    return DeliveryResult.Delivered;
                }
            }

            if (_incoming.TryEnqueue(frame, sender))
            {
                Stats.Queued++;
                return DeliveryResult.Queued;
            }

            Stats.CountDrop();
            return DeliveryResult.Dropped;
        }
    }

    /// <summary>
    /// Takes one frame from the peer. Runs with this client's lock held; see the type's remarks.
    /// </summary>
    protected abstract ReceiveResult Receive(ReadOnlySpan<byte> frame);

    /// <summary>
    /// Records in <paramref name="hot"/> the objects this client touches for a frame it takes or
    /// sends (itself, its lock, counters and queue), once: a client that hands frames on (a hub
    /// port) or answers them (the user netdev) adds what its own path touches beyond.
    /// </summary>
    /// <returns>False when the client was recorded already (a walk that came back), so its override stops too.</returns>
    public virtual bool CollectHot(HotObjects hot)
    {
        ArgumentNullException.ThrowIfNull(hot);
        if (!hot.AddOnce(this))
        {
            return false;
        }

        hot.Add(_lock);
        hot.Add(Stats);
        hot.Add(_incoming);
        return true;
    }

    /// <summary>
    /// <see cref="CollectHot"/>, then the peer's path (a frame this client takes goes on to it),
    /// unless this client was recorded already.
    /// </summary>
    public void CollectHotWithPeer(HotObjects hot)
    {
        if (CollectHot(hot))
        {
            _peer?.CollectHot(hot);
        }
    }

    /// <summary>
    /// Retries the queued frames in order (call when the client can take frames again), then
    /// wakes the senders that were told to wait. Returns true when the queue is empty.
    /// </summary>
    protected bool FlushQueue()
    {
        NetClient[] ready;
        lock (_lock)
        {
            while (_incoming.TryPeek(out var frame))
            {
                if (!IsClosed && !_linkDown)
                {
                    ReceiveResult result;
                    try
                    {
                        result = Receive(frame);
                    }
                    catch (Exception e) when (ContainFault(e, this))
                    {
                        // Counted as a fault and dropped; the frames behind it still go in.
                        _incoming.DropHead();
                        continue;
                    }

                    if (result == ReceiveResult.Busy)
                    {
                        return false;
                    }
                }

                Stats.ReceivedFrames++;
                Stats.ReceivedBytes += frame.Length;
                _incoming.DropHead();
            }

            ready = _incoming.TakeWaitingSenders();
        }

        foreach (var sender in ready)
        {
            sender.WakeContained();
        }

        return true;
    }

    /// <summary>The number of frames waiting in this client's incoming queue.</summary>
    protected int QueuedFrames
    {
        get
        {
            lock (_lock)
            {
                return _incoming.Count;
            }
        }
    }

    /// <summary>The peer drained frames this client had to queue: resume reading input.</summary>
    protected internal virtual void OnPeerReady()
    {
    }

    /// <summary>The link state changed (set_link, or the backend's own connect/disconnect).</summary>
    protected virtual void OnLinkStatusChanged()
    {
    }

    /// <summary>
    /// <see cref="UsingVnetHeader"/> changed (peer set or removed, or a hub's ports changed).
    /// Called on the thread that changed the topology; frames already in flight may still be in
    /// the old format, which a receiver must tolerate (drop what it cannot parse).
    /// </summary>
    protected virtual void OnVnetHeaderChanged()
    {
    }

    /// <summary>Re-evaluates <see cref="UsingVnetHeader"/> from this client's and its peer's capability.</summary>
    protected internal void NegotiateVnetHeader()
    {
        var peer = _peer;
        var use = peer is not null && HasVnetHeader && peer.HasVnetHeader;
        if (_usingVnetHeader != use)
        {
            _usingVnetHeader = use;
            OnVnetHeaderChanged();
        }
    }

    /// <summary>The peer was set or removed.</summary>
    protected virtual void OnPeerChanged()
    {
    }

    /// <summary>Releases the backend's resources (sockets, files, threads). Called once.</summary>
    protected virtual ValueTask CloseAsync() => ValueTask.CompletedTask;

    /// <summary>Detaches from the peer, drops queued frames, releases resources. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        Disconnect();
        NetClient[] waiting;
        lock (_lock)
        {
            waiting = _incoming.Clear();
        }

        foreach (var sender in waiting)
        {
            sender.WakeContained();
        }

        await CloseAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}
