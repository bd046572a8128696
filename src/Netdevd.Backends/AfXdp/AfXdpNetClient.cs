using System.Globalization;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.AfXdp;

/// <summary>
/// An af-xdp netdev (QEMU's AFXDPState): the XDP sockets of consecutive queues of one host
/// interface. QEMU makes one client per queue with the same name, each meant to peer with one
/// queue of a multiqueue NIC; a hubport (qemu_find_netdev) peers with the first of them only, and
/// what the other queues' sockets receive goes to a client without a peer, which drops it.
/// netdevd's peers are single clients (no multiqueue NIC), so the queues are parallel readers
/// feeding one client: a frame from the interface reaches the peer whichever queue the interface
/// hashed it to. Frames towards the interface go out on the first queue's TX ring (interface
/// queue start-queue), as QEMU's one connected client sends them: they come from one peer under
/// one lock, so more TX rings would add kicks, not throughput.
/// </summary>
/// <remarks>
/// AF_XDP has no offloads: no virtio-net header, no segmentation. A frame for the interface
/// longer than a UMEM frame (4096 bytes) is dropped and counted in
/// <see cref="AfXdpCounters.OversizeDrops"/>; QEMU drops it silently. The kernel drops frames
/// from the interface that do not fit a UMEM frame (it counts them in XDP_STATISTICS).
/// </remarks>
public sealed class AfXdpNetClient : NetClient
{
    private readonly AfXdpQueue[] _queues;
    private readonly XdpRedirectProgram? _program;
    private readonly Lock _txLock = new();
    private bool _kickPending;
    private bool _closedFds;

    /// <param name="pool">The I/O threads its queues run on; <see cref="IoThreadPool.Default"/> if null.</param>
    internal AfXdpNetClient(string name, string ifname, IReadOnlyList<XdpSocket> sockets, XdpRedirectProgram? program, IoThreadPool? pool = null)
        : base(name, NetClientDriver.AfXdp)
    {
        IfName = ifname;
        Info = $"af-xdp0 to {ifname}";
        _program = program;
        _queues = new AfXdpQueue[sockets.Count];
        for (var i = 0; i < sockets.Count; i++)
        {
            _queues[i] = new AfXdpQueue(this, sockets[i], i, pool);
        }
    }

    public string IfName { get; }

    public AfXdpCounters Counters { get; } = new();

    public int QueueCount => _queues.Length;

    /// <summary>Frames received on queue <paramref name="index"/>'s socket.</summary>
    public long ReceivedOnQueue(int index) => _queues[index].ReceivedFrames;

    /// <summary>
    /// Frames from the interface the kernel dropped before they reached netdevd, over all queues
    /// (XDP_STATISTICS: too long for a UMEM frame, RX ring full, no free frame in the fill ring).
    /// </summary>
    public long KernelDrops
    {
        get
        {
            long total = 0;
            foreach (var q in _queues)
            {
                if (q.Fd >= 0 && Native.Xdp.TryGetStatistics(q.Fd, out var dropped, out var ringFull, out var fillEmpty, out _))
                {
                    total += dropped + ringFull + fillEmpty;
                }
            }

            return total;
        }
    }

    /// <summary>
    /// Where every queue's frames are (rings, free frames, the kernel's drop counts) and this
    /// netdev's counters: what a stall is diagnosed from (tests put it in their failure messages).
    /// </summary>
    public string Describe()
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"af-xdp '{Name}' on {IfName}: sent {Stats.SentFrames}, received {Stats.ReceivedFrames}, queued {Stats.Queued} (now {QueuedFrames}), dropped {Stats.Dropped}, ");
        text.Append(CultureInfo.InvariantCulture, $"oversize {Counters.OversizeDrops}, deferred transmits {Counters.DeferredTransmits}");
        foreach (var q in _queues)
        {
            text.Append("\n  ").Append(q.Describe());
        }

        return text.ToString();
    }

    internal DeliveryResult SendFrame(ReadOnlySpan<byte> frame) => Send(frame);

    internal static void BeginBatch() => BeginSendBatch();

    internal void EndBatch() => SendBatchEnd();

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (frame.Length > XdpSocket.FrameSize)
        {
            Counters.Oversize();
            return ReceiveResult.Accepted;
        }

        lock (_txLock)
        {
            if (_closedFds)
            {
                return ReceiveResult.Accepted;
            }

            var q = _queues[0];
            if (!q.Transmit(frame))
            {
                return ReceiveResult.Busy;
            }

            // One wake-up per batch of the sender, not per frame.
            if (InSendBatch)
            {
                _kickPending = true;
            }
            else
            {
                _ = q.Kick();
            }
        }

        return ReceiveResult.Accepted;
    }

    protected override void OnBatchEnd()
    {
        lock (_txLock)
        {
            if (_kickPending && !_closedFds)
            {
                _kickPending = false;
                _ = _queues[0].Kick();
            }
        }
    }

    internal void OnQueueWritable(AfXdpQueue queue)
    {
        lock (_txLock)
        {
            if (_closedFds || !queue.TryStopWaitingForWrite())
            {
                return;
            }
        }

        FlushQueue();
    }

    protected override void OnPeerReady()
    {
        if (IsClosed)
        {
            return;
        }

        foreach (var q in _queues)
        {
            q.Resume();
        }
    }

    protected override void OnPeerChanged()
    {
        if (IsClosed)
        {
            return;
        }

        foreach (var q in _queues)
        {
            q.PeerChanged();
        }
    }

    protected override ValueTask CloseAsync()
    {
        lock (_txLock)
        {
            _closedFds = true;
        }

        foreach (var q in _queues)
        {
            q.Dispose();
        }

        // As QEMU: the program goes when the last queue has closed (never one netdevd did not load).
        _program?.Dispose();
        return ValueTask.CompletedTask;
    }
}
