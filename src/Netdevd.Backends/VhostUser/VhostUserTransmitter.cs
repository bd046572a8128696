using Netdevd.Wire;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Backends.VirtioNet;
using Netdevd.Core.Clients;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// The guest's transmit queue of one queue pair: drains available chains in batches on the
/// pair's worker thread and hands each frame to the netdev's peer. A frame that fits one buffer
/// (the common case with VERSION_1) goes out straight from guest memory; a chain of several is
/// gathered into a buffer of this queue's. Kicks are suppressed while draining and asked for
/// again only when the ring is empty. A peer without virtio-net headers gets plain frames, with
/// checksums and segmentation the guest left to the device done in software.
/// </summary>
internal sealed class VhostUserTransmitter : ISegmentSink
{
    /// <summary>Frames per drain before the worker polls its other descriptors again.</summary>
    private const int Budget = 256;

    private readonly VhostUserSession _session;
    private readonly VhostUserVring _vring;
    private readonly byte[] _gather = new byte[NetClient.VnetHeaderSize + NetClient.MaxFrameSize];
    private readonly byte[] _segments = new byte[NetClient.VnetHeaderSize + NetClient.MaxFrameSize];
    private bool _blocked;

    public VhostUserTransmitter(VhostUserSession session, VhostUserVring vring)
    {
        _session = session;
        _vring = vring;
    }

    /// <summary>Whether the peer pushed back: draining waits for <see cref="Resume"/>.</summary>
    public bool Blocked => _blocked;

    /// <summary>Worker: the peer can take frames again (drain next).</summary>
    public void Unblock() => _blocked = false;

    /// <summary>Worker: a kick (or a resume). Returns true when the budget ran out and more is waiting.</summary>
    public bool Drain()
    {
        if (_blocked)
        {
            return false;
        }

        var client = _session.Client;
        var more = false;
        var fault = RingFault.None;
        lock (_vring.Gate)
        {
            var queue = _vring.Queue;
            if (queue is null || !_vring.Enabled)
            {
                return false;
            }

            queue.SetKickWanted(false);
            var taken = 0;
            VhostUserBackendClient.BeginBatch();
            try
            {
                while (true)
                {
                    if (!queue.TryTake(out var head, out fault))
                    {
                        if (fault != RingFault.None || !queue.SetKickWanted(true))
                        {
                            break;
                        }

                        continue;
                    }

                    var result = Transmit(queue, head, out fault);
                    queue.AddUsed(head, 0);
                    taken++;
                    if (fault != RingFault.None)
                    {
                        break;
                    }

                    if (result == DeliveryResult.Queued)
                    {
                        _blocked = true;
                        break;
                    }

                    if (taken == Budget)
                    {
                        more = true;
                        break;
                    }
                }
            }
            finally
            {
                client.EndBatch();
                if (taken > 0)
                {
                    queue.PublishUsed();
                    if (queue.ShouldSignal())
                    {
                        _vring.Signal();
                    }
                }
            }
        }

        if (fault != RingFault.None)
        {
            _session.RefuseFromDatapath($"transmit queue {_vring.Index}: {fault}");
            return false;
        }

        return more;
    }

    void ISegmentSink.OnSegment(Span<byte> frame) => _session.Client.SendFromGuest(frame);

    private DeliveryResult Transmit(Virtqueue queue, ChainHead head, out RingFault fault)
    {
        var chain = queue.Walk(head);
        RingBuffer first = default;
        var buffers = 0;
        var length = 0;
        var oversized = false;
        while (chain.TryNext(out var buffer, out fault))
        {
            if (buffer.Writable)
            {
                fault = RingFault.WrongDirection;
                return DeliveryResult.Dropped;
            }

            if (buffers == 0)
            {
                first = buffer;
            }
            else if (!oversized)
            {
                if (buffers == 1)
                {
                    // A second buffer: from now on the frame is gathered.
                    if (first.Length > _gather.Length)
                    {
                        oversized = true;
                    }
                    else
                    {
                        first.Span.CopyTo(_gather);
                    }
                }

                if (!oversized && length + buffer.Length <= _gather.Length)
                {
                    buffer.Span.CopyTo(_gather.AsSpan(length));
                }
                else
                {
                    oversized = true;
                }
            }

            length += buffer.Length;
            buffers++;
        }

        if (fault != RingFault.None)
        {
            return DeliveryResult.Dropped;
        }

        var headerLength = _session.HeaderLength;
        if (oversized || length < headerLength || length - headerLength > NetClient.MaxFrameSize)
        {
            _session.Client.CountGuestDrop();
            return DeliveryResult.Dropped;
        }

        var gathered = buffers > 1;
        ReadOnlySpan<byte> frame = gathered ? _gather.AsSpan(0, length) : first.Span;
        return Deliver(frame, headerLength, gathered);
    }

    private DeliveryResult Deliver(ReadOnlySpan<byte> frame, int headerLength, bool inGatherBuffer)
    {
        var client = _session.Client;
        if (client.UsingVnetHeader)
        {
            if (headerLength == NetClient.VnetHeaderSize)
            {
                return client.SendFromGuest(frame);
            }

            // A legacy 10-byte header: the link carries 12 (num_buffers is 0 on transmit).
            var widened = _segments.AsSpan(0, frame.Length + NetClient.VnetHeaderSize - headerLength);
            widened.Clear();
            frame[..headerLength].CopyTo(widened);
            frame[headerLength..].CopyTo(widened[NetClient.VnetHeaderSize..]);
            return client.SendFromGuest(widened);
        }

        var header = VirtioNetHeader.Read(frame);
        var payload = frame[headerLength..];
        if (!header.NeedsChecksum && !header.IsGso)
        {
            return client.SendFromGuest(payload);
        }

        // The guest left work to the device and the peer cannot take it: resolve it here, in a
        // buffer of ours (never in the guest's read-only buffer).
        Span<byte> writable;
        if (inGatherBuffer)
        {
            writable = _gather.AsSpan(headerLength, payload.Length);
        }
        else
        {
            payload.CopyTo(_gather);
            writable = _gather.AsSpan(0, payload.Length);
        }

        if (SoftwareOffload.Resolve(header, writable, _segments, this) == OffloadOutcome.Dropped)
        {
            client.CountGuestDrop();
        }

        return DeliveryResult.Delivered;
    }
}
