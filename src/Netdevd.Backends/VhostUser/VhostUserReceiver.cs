using Netdevd.Wire;
using System.Buffers.Binary;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Backends.VirtioNet;
using Netdevd.Core.Clients;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// The guest's receive queue of one queue pair: writes frames from the peer into the buffers the
/// guest made available, each frame behind a virtio-net header; with MRG_RXBUF a frame may span
/// several chains (num_buffers says how many). Runs on the delivering thread under the netdev's
/// lock and this ring's gate. Chains are first reserved (walked and measured), then written, so a
/// frame that does not fit takes nothing: the ring is "busy", the netdev queues the frame, and
/// the guest's next kick (asked for only then) flushes it. Used entries written inside a sender's
/// batch are published and signalled once, at the batch's end.
/// </summary>
internal sealed class VhostUserReceiver : ISegmentSink
{
    /// <summary>Chains one frame may take (64 KiB in buffers of at least one page is 17).</summary>
    private const int MaxChainsPerFrame = 64;

    private readonly VhostUserSession _session;
    private readonly VhostUserVring _vring;
    private readonly ChainHead[] _heads = new ChainHead[MaxChainsPerFrame];
    private readonly byte[] _resolve = new byte[NetClient.MaxFrameSize];
    private readonly byte[] _segments = new byte[NetClient.MaxFrameSize];
    private readonly byte[] _resolveHeader = new byte[NetClient.VnetHeaderSize];
    private Virtqueue? _leasedQueue;
    private ChainHead _leasedHead;
    private int _leasedMark;
    private RingBuffer _leasedBuffer;
    private bool _pendingSignal;
    private bool _kickAsked;
    private ReceiveResult _segmentResult;

    public VhostUserReceiver(VhostUserSession session, VhostUserVring vring)
    {
        _session = session;
        _vring = vring;
    }

    public VhostUserVring Vring => _vring;

    /// <summary>Writes one frame from the peer (with a 12-byte header when the link carries one).</summary>
    public ReceiveResult Receive(ReadOnlySpan<byte> frame, bool linkHasHeader, bool deferSignal) =>
        Receive(new FramePieces(frame), linkHasHeader, deferSignal);

    /// <summary>
    /// Writes one frame from the peer given in pieces (a TCP segment whose payload is still in the
    /// user netdev's send ring): copied into the guest's buffers straight from the pieces, the one
    /// copy; only a frame whose offload the guest cannot take is joined first, to be resolved.
    /// </summary>
    public ReceiveResult Receive(FramePieces frame, bool linkHasHeader, bool deferSignal)
    {
        Span<byte> header = stackalloc byte[NetClient.VnetHeaderSize];
        header.Clear();
        var payload = frame;
        if (linkHasHeader)
        {
            if (frame.Length < NetClient.VnetHeaderSize)
            {
                _session.Client.CountGuestDrop();
                return ReceiveResult.Accepted;
            }

            _ = frame.CopyTo(0, header);
            var offload = VirtioNetHeader.Read(header);
            payload = frame.Slice(NetClient.VnetHeaderSize);
            if (!_session.GuestTakes(offload))
            {
                if (payload.Length > _resolve.Length)
                {
                    _session.Client.CountGuestDrop();
                    return ReceiveResult.Accepted;
                }

                payload.CopyTo(_resolve);
                return ResolveInSoftware(offload, payload.Length, deferSignal);
            }

            header[VirtioNetHeader.BaseSize..].Clear();
        }

        return Write(header, payload, deferSignal);
    }

    /// <summary>
    /// Lends the next available chain's first buffer for a sender to read a frame (with its
    /// 12-byte header) into, when that one buffer holds any frame (<see cref="NetClient.MinimumInPlaceBuffer"/>)
    /// and the guest's header is 12 bytes; false otherwise, with nothing taken (the frame then
    /// takes <see cref="Receive"/>). On true the ring's gate stays held until <see cref="CompleteLease"/>.
    /// </summary>
    public bool TryLease(out Span<byte> buffer)
    {
        buffer = default;
        if (_session.HeaderLength != NetClient.VnetHeaderSize)
        {
            return false;
        }

        _vring.Gate.Enter();
        try
        {
            var queue = _vring.Queue;
            var mark = queue?.Mark() ?? 0;
            if (queue is not null && _vring.Enabled && queue.TryTake(out var head, out var fault))
            {
                var chain = queue.Walk(head);
                if (chain.TryNext(out var first, out fault) && first.Writable && first.Length >= NetClient.MinimumInPlaceBuffer)
                {
                    // Kept as translated now: a guest that rewrites the descriptor meanwhile changes nothing here.
                    _leasedQueue = queue;
                    _leasedHead = head;
                    _leasedMark = mark;
                    _leasedBuffer = first;
                    buffer = first.Span;
                    return true;
                }

                // Not one buffer that holds a whole frame (or a broken chain): the ordinary path decides.
                queue.Rewind(mark);
            }
        }
        catch
        {
            _vring.Gate.Exit();
            throw;
        }

        _vring.Gate.Exit();
        return false;
    }

    /// <summary>The lent buffer holds a frame of <paramref name="length"/> bytes (negative: nothing); returns the chain as used, or gives it back.</summary>
    public void CompleteLease(int length, bool deferSignal)
    {
        var queue = _leasedQueue!;
        _leasedQueue = null;
        var resolve = false;
        try
        {
            if (length <= NetClient.VnetHeaderSize || length - NetClient.VnetHeaderSize > NetClient.MaxFrameSize)
            {
                queue.Rewind(_leasedMark);
                if (length >= 0)
                {
                    _session.Client.CountGuestDrop();
                }

                return;
            }

            var span = _leasedBuffer.Span;
            _leasedBuffer = default;
            var offload = VirtioNetHeader.Read(span);
            if (!_session.GuestTakes(offload))
            {
                // The guest cannot take these offloads: give the chain back and resolve them in software.
                queue.Rewind(_leasedMark);
                resolve = true;
                offload.Write(_resolveHeader);
                span[NetClient.VnetHeaderSize..length].CopyTo(_resolve);
                return;
            }

            BinaryPrimitives.WriteUInt16LittleEndian(span[10..], 1);
            if (_kickAsked)
            {
                _kickAsked = false;
                queue.SetKickWanted(false);
            }

            queue.AddUsed(_leasedHead, (uint)length);
            PublishOrDefer(queue, deferSignal);
        }
        finally
        {
            _vring.Gate.Exit();
            if (resolve)
            {
                _ = ResolveInSoftware(VirtioNetHeader.Read(_resolveHeader), length - NetClient.VnetHeaderSize, deferSignal);
            }
        }
    }

    /// <summary>Under the gate: inside a sender's batch the used entries wait for its end (one interrupt); otherwise they go now.</summary>
    private void PublishOrDefer(Virtqueue queue, bool deferSignal)
    {
        if (deferSignal)
        {
            _pendingSignal = true;
        }
        else
        {
            Publish(queue);
        }
    }

    /// <summary>Under the gate: makes the used entries visible and interrupts the guest if it asked.</summary>
    private void Publish(Virtqueue queue)
    {
        queue.PublishUsed();
        if (queue.ShouldSignal())
        {
            _vring.Signal();
        }
    }

    /// <summary>The sender's batch ended: publish what it wrote and interrupt the guest once.</summary>
    public void FlushSignal()
    {
        lock (_vring.Gate)
        {
            if (!_pendingSignal)
            {
                return;
            }

            _pendingSignal = false;
            if (_vring.Queue is { } queue)
            {
                Publish(queue);
            }
        }
    }

    void ISegmentSink.OnSegment(Span<byte> frame)
    {
        if (_segmentResult == ReceiveResult.Accepted)
        {
            Span<byte> header = stackalloc byte[NetClient.VnetHeaderSize];
            header.Clear();
            _segmentResult = Write(header, new FramePieces(frame), deferSignal: true);
        }
    }

    /// <summary>
    /// Carries out in software what <paramref name="offload"/> asks of a guest that did not offer
    /// it: the frame's <paramref name="length"/> bytes (after its header) are in <c>_resolve</c>.
    /// </summary>
    private ReceiveResult ResolveInSoftware(VirtioNetHeader offload, int length, bool deferSignal)
    {
        // Segments that find no room are dropped (the ring cannot take a half-resolved frame back).
        _segmentResult = ReceiveResult.Accepted;
        if (SoftwareOffload.Resolve(offload, _resolve.AsSpan(0, length), _segments, this) == OffloadOutcome.Dropped
            || _segmentResult != ReceiveResult.Accepted)
        {
            _session.Client.CountGuestDrop();
        }

        if (!deferSignal)
        {
            FlushSignal();
        }

        return ReceiveResult.Accepted;
    }

    private ReceiveResult Write(Span<byte> header, FramePieces payload, bool deferSignal)
    {
        var fault = RingFault.None;
        var result = ReceiveResult.Accepted;
        lock (_vring.Gate)
        {
            var queue = _vring.Queue;
            if (queue is null || !_vring.Enabled)
            {
                // No guest driver is running this queue: the frame is lost, as on a NIC that is down.
                _session.Client.CountGuestDrop();
                return ReceiveResult.Accepted;
            }

            var headerLength = _session.HeaderLength;
            var total = headerLength + payload.Length;
            var mergeable = _session.MergeableBuffers;
            var chains = 0;
            long capacity = 0;
            var mark = queue.Mark();
            while (capacity < total)
            {
                if (chains == MaxChainsPerFrame)
                {
                    queue.Rewind(mark);
                    _session.Client.CountGuestDrop();
                    return ReceiveResult.Accepted;
                }

                if (!queue.TryTake(out var head, out fault))
                {
                    if (fault != RingFault.None)
                    {
                        queue.Rewind(mark);
                        break;
                    }

                    // Ask for a kick past the chains held so far (the next buffer the driver adds)
                    // before giving them back: asked after, the buffers that were too few would
                    // count as new ones and the frame would be tried again for ever.
                    var arrived = queue.SetKickWanted(true);
                    queue.Rewind(mark);
                    if (arrived)
                    {
                        chains = 0;
                        capacity = 0;
                        continue;
                    }

                    // Busy: the netdev queues the frame; the guest's kick flushes it.
                    _kickAsked = true;
                    result = ReceiveResult.Busy;
                    break;
                }

                _heads[chains++] = head;
                capacity += Measure(queue, head, out fault);
                if (fault != RingFault.None)
                {
                    break;
                }

                if (!mergeable)
                {
                    break;
                }
            }

            if (fault == RingFault.None && result == ReceiveResult.Accepted)
            {
                if (capacity < total)
                {
                    // One chain without MRG_RXBUF, smaller than the frame: the guest cannot take it.
                    queue.Rewind(mark);
                    _session.Client.CountGuestDrop();
                    return ReceiveResult.Accepted;
                }

                if (_kickAsked)
                {
                    // Buffers are back: no more kicks for every refill.
                    _kickAsked = false;
                    queue.SetKickWanted(false);
                }

                if (headerLength == NetClient.VnetHeaderSize)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(header[10..], (ushort)chains);
                }

                Fill(queue, header[..headerLength], payload, chains);
                PublishOrDefer(queue, deferSignal);
            }
        }

        if (fault != RingFault.None)
        {
            _session.RefuseFromDatapath($"receive queue {_vring.Index}: {fault}");
            return ReceiveResult.Accepted;
        }

        return result;
    }

    /// <summary>The writable bytes of chain <paramref name="head"/>.</summary>
    private static long Measure(Virtqueue queue, ChainHead head, out RingFault fault)
    {
        var chain = queue.Walk(head);
        long bytes = 0;
        while (chain.TryNext(out var buffer, out fault))
        {
            if (!buffer.Writable)
            {
                fault = RingFault.WrongDirection;
                return 0;
            }

            bytes += buffer.Length;
        }

        return bytes;
    }

    /// <summary>Copies header then payload into the reserved chains and adds their used entries.</summary>
    private void Fill(Virtqueue queue, ReadOnlySpan<byte> header, FramePieces payload, int chains)
    {
        var offset = 0;
        var total = header.Length + payload.Length;
        for (var i = 0; i < chains; i++)
        {
            var chain = queue.Walk(_heads[i]);
            var inChain = 0;

            // The chain was walked a moment ago; a guest that rewrote it meanwhile gets fewer
            // bytes (or a fault, which only ends this walk): never a write outside its buffers.
            while (offset < total && chain.TryNext(out var buffer, out _))
            {
                if (!buffer.Writable)
                {
                    break;
                }

                var n = CopyOut(header, payload, offset, buffer.Span);
                offset += n;
                inChain += n;
            }

            queue.AddUsed(_heads[i], (uint)inChain);
        }
    }

    /// <summary>Copies from the concatenation header+payload at <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    private static int CopyOut(ReadOnlySpan<byte> header, FramePieces payload, int offset, Span<byte> destination)
    {
        var written = 0;
        if (offset < header.Length)
        {
            var part = Math.Min(header.Length - offset, destination.Length);
            header.Slice(offset, part).CopyTo(destination);
            written = part;
            offset += part;
        }

        return written + payload.CopyTo(offset - header.Length, destination[written..]);
    }
}
