using Netdevd.Backends.Io;
using Netdevd.Backends.Sockets;
using Netdevd.Backends.VirtioNet;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using Netdevd.Wire;

namespace Netdevd.Backends.Tap;

/// <summary>
/// A tap netdev (QEMU's TAPState): one client for all its queues. QEMU makes one client per queue
/// with the same name, each peered with one queue of a multiqueue NIC; netdevd's peers are single
/// clients (a hub port, another backend), so the queues here are parallel readers feeding one
/// client, and frames towards the tap are written on the first queue.
/// </summary>
/// <remarks>
/// Frames on this client's link carry the 12-byte virtio-net header exactly when
/// <see cref="NetClient.UsingVnetHeader"/>: the tap has IFF_VNET_HDR and the peer keeps headers.
/// Then super-frames pass whole, and single TCP segments (plain or NEEDS_CSUM, as the user netdev
/// sends them) are merged as below. Otherwise headers are stripped on the way out, and the offloads
/// stay on nevertheless: the kernel hands over 64 KiB TSO super-frames, which are segmented in
/// software into one batch of plain frames (one read instead of dozens). On the way in, the
/// plain TCP segments of one sender's batch are merged into one GSO super-frame where that is
/// safe (<see cref="TcpCoalescer"/>, software GRO) and written at the batch's end; other frames
/// get a zeroed header and are written at once.
/// </remarks>
public sealed class TapNetClient : NetClient
{
    private static readonly byte[] ZeroHeader = new byte[VnetHeaderSize];

    private readonly TapQueue[] _queues;
    private readonly bool _vnetHeader;
    private readonly Lock _writeLock = new();
    private readonly string? _downscript;
    private readonly TcpCoalescer? _coalescer;
    private bool _closedFds;

    /// <summary>
    /// Takes ownership of the queue descriptors (non-blocking taps). <paramref name="downscript"/>
    /// runs with <paramref name="ifname"/> when the netdev is deleted (plain mode only).
    /// </summary>
    /// <param name="pool">The I/O threads its queues run on; <see cref="IoThreadPool.Default"/> if null.</param>
    public TapNetClient(string name, IReadOnlyList<int> fds, bool vnetHeader, string ifname, string info, string? downscript, IoThreadPool? pool = null)
        : base(name, NetClientDriver.Tap)
    {
        ArgumentNullException.ThrowIfNull(fds);
        ArgumentOutOfRangeException.ThrowIfZero(fds.Count);
        _vnetHeader = vnetHeader;
        IfName = ifname;
        Info = info;
        _downscript = downscript;
        foreach (var fd in fds)
        {
            if (vnetHeader)
            {
                // Offloads whatever the peer: headers are resolved here when it has none.
                TapDevice.SetHeaderSize(fd);
                _ = TapDevice.SetOffloads(fd, TapDevice.OffloadsWithHeaders);
            }
        }

        _coalescer = vnetHeader ? new TcpCoalescer() : null;

        _queues = new TapQueue[fds.Count];
        for (var i = 0; i < fds.Count; i++)
        {
            _queues[i] = new TapQueue(this, fds[i], i, vnetHeader, pool);
        }
    }

    /// <summary>The interface name (for scripts, tests).</summary>
    public string IfName { get; }

    public int QueueCount => _queues.Length;

    public TapCounters Counters { get; } = new();

    public override bool HasVnetHeader => _vnetHeader;

    internal DeliveryResult SendFrame(ReadOnlySpan<byte> frame) => Send(frame);

    internal bool TryBeginInPlace(out Span<byte> buffer) => TryBeginSendInPlace(out buffer);

    internal void EndInPlace(int length) => EndSendInPlace(length);

    /// <summary>TCP segments merged into super-frames written so far (software GRO), for tests and diagnostics.</summary>
    public long CoalescedRuns => _coalescer?.Merged ?? 0;

    internal static void BeginBatch() => BeginSendBatch();

    internal void EndBatch() => SendBatchEnd();

    internal void FlushFromQueue()
    {
        lock (_writeLock)
        {
            if (!FlushHeld())
            {
                return;
            }
        }

        FlushQueue();
    }

    /// <summary>The client's own objects, then what a frame written to the tap touches: the write lock, the counters, the segment merger.</summary>
    public override bool CollectHot(HotObjects hot)
    {
        if (!base.CollectHot(hot))
        {
            return false;
        }

        hot.Add(_writeLock);
        hot.Add(Counters);
        hot.Add(_coalescer);
        hot.Add(_queues);
        return true;
    }

    protected override void OnBatchEnd()
    {
        lock (_writeLock)
        {
            _ = FlushHeld();
        }
    }

    protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        nint n;
        int errno;
        lock (_writeLock)
        {
            if (_closedFds)
            {
                return ReceiveResult.Accepted;
            }

            if (_coalescer is not null)
            {
                var offer = InSendBatch ? Offer(_coalescer, frame) : CoalesceResult.NotCandidate;
                if (offer == CoalesceResult.Taken)
                {
                    return ReceiveResult.Accepted;
                }

                // What is held goes first, so frames stay in order.
                if (!FlushHeld())
                {
                    return ReceiveResult.Busy;
                }

                if (offer == CoalesceResult.FlushFirst && Offer(_coalescer, frame) == CoalesceResult.Taken)
                {
                    return ReceiveResult.Accepted;
                }
            }

            var fd = _queues[0].Fd;
            do
            {
                // With headers on the descriptor but not on the link, the kernel still wants one:
                // a zeroed header says "nothing offloaded" (QEMU does the same for non-virtio peers).
                n = _vnetHeader && !UsingVnetHeader ? Libc.WriteVOrErrno(fd, ZeroHeader, frame) : Libc.WriteOrErrno(fd, frame);
                errno = n < 0 ? (int)-n : 0;
            }
            while (n < 0 && errno == Errno.EINTR);
        }

        return Written(n, errno);
    }

    /// <summary>A frame in pieces (headers, then a payload still in its sender's buffer): one vectored write, no copy here.</summary>
    protected override bool ReceivesGather => true;

    protected override ReceiveResult ReceiveGather(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2)
    {
        nint n;
        int errno;
        lock (_writeLock)
        {
            if (_closedFds)
            {
                return ReceiveResult.Accepted;
            }

            // Not merged (the senders' pieces are segments too large to merge); what is held goes first.
            if (!FlushHeld())
            {
                return ReceiveResult.Busy;
            }

            var fd = _queues[0].Fd;
            var header = _vnetHeader && !UsingVnetHeader ? ZeroHeader : default;
            do
            {
                n = Libc.WriteVOrErrno(fd, header, head, body1, body2);
                errno = n < 0 ? (int)-n : 0;
            }
            while (n < 0 && errno == Errno.EINTR);
        }

        return Written(n, errno);
    }

    /// <summary>What a write's result (the count, or -errno) means for the frame.</summary>
    private ReceiveResult Written(nint n, int errno)
    {
        if (n >= 0)
        {
            return ReceiveResult.Accepted;
        }

        if (errno == Errno.EAGAIN)
        {
            _queues[0].WantWrite();
            return ReceiveResult.Busy;
        }

        // EINVAL (a malformed header or frame), EIO (interface down): the kernel refuses this
        // frame; count and drop it, as QEMU's tap does.
        Counters.WriteError();
        return ReceiveResult.Accepted;
    }

    /// <summary>
    /// Offers a frame of this link to the coalescer: a plain frame, or (with headers on the link)
    /// the frame behind a header that asks for nothing or only a TCP checksum (a peer such as the
    /// user netdev leaves it to the kernel); GSO frames are already merged and pass as they are.
    /// </summary>
    private CoalesceResult Offer(TcpCoalescer coalescer, ReadOnlySpan<byte> frame)
    {
        if (!UsingVnetHeader)
        {
            return coalescer.Offer(frame);
        }

        if (frame.Length < VnetHeaderSize)
        {
            return CoalesceResult.NotCandidate;
        }

        var header = VirtioNetHeader.Read(frame);
        if (header.IsGso || (header.NeedsChecksum && header.CsumOffset != 16) || (header.Flags & ~(VirtioNetHeader.FlagNeedsCsum | VirtioNetHeader.FlagDataValid)) != 0)
        {
            return CoalesceResult.NotCandidate;
        }

        return coalescer.Offer(frame[VnetHeaderSize..], header.NeedsChecksum ? header.CsumStart : 0);
    }

    /// <summary>
    /// Writes the held run of merged segments. Under <c>_writeLock</c>. False when the tap pushed
    /// back (EAGAIN): the run stays held and goes out when the tap is writable.
    /// </summary>
    private bool FlushHeld()
    {
        if (_coalescer is not { HasHeld: true } || _closedFds)
        {
            return true;
        }

        var fd = _queues[0].Fd;
        var bytes = _coalescer.Held();
        nint n;
        int errno;
        do
        {
            n = Libc.WriteOrErrno(fd, bytes);
            errno = n < 0 ? (int)-n : 0;
        }
        while (n < 0 && errno == Errno.EINTR);

        if (n < 0 && errno == Errno.EAGAIN)
        {
            _queues[0].WantWrite();
            return false;
        }

        if (n < 0)
        {
            Counters.WriteError();
        }

        _coalescer.Clear();
        return true;
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

    protected override async ValueTask CloseAsync()
    {
        // QEMU runs the down script while the tap still exists, then closes it.
        if (!NetworkScript.IsDisabled(_downscript))
        {
            try
            {
                await NetworkScript.RunAsync(_downscript!, IfName).ConfigureAwait(false);
            }
            catch (Qapi.Errors.QapiException)
            {
                // QEMU reports a failing down script and carries on closing; nobody is waiting for an answer here.
            }
        }

        lock (_writeLock)
        {
            _closedFds = true;
        }

        foreach (var q in _queues)
        {
            q.Dispose();
        }
    }

    /// <summary>Closes descriptors that never became a client (a failed setup).</summary>
    internal static void CloseAll(IEnumerable<int> fds)
    {
        foreach (var fd in fds)
        {
            Descriptors.CloseQuietly(fd);
        }
    }
}
