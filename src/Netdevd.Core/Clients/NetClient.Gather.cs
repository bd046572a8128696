namespace Netdevd.Core.Clients;

/// <summary>
/// Sending a frame in pieces: a sender whose payload already sits in a buffer of its own (the
/// user netdev's TCP send ring) hands over the headers and up to two payload pieces instead of
/// first copying them into one frame; a receiver that writes with a vectored call (a tap) or
/// copies into memory of its own (a vhost-user guest's buffers) takes them as they are, so the
/// payload is copied once. Every other receiver, one with frames queued (order is kept) and a hub
/// with more than one other port get the pieces copied into one frame and delivered as by
/// <see cref="Send"/>. The pieces are only read during the call.
/// </summary>
public abstract partial class NetClient
{
    // A frame gathered for a receiver that takes whole frames; a second one if a delivery on this
    // thread is still using the first (a receiver that sends on in pieces itself).
    [ThreadStatic]
    private static byte[]? t_gathered;

    [ThreadStatic]
    private static bool t_gatheredInUse;

    /// <summary>Whether <see cref="ReceiveGather"/> takes frames in pieces (by default not: they come whole to <see cref="Receive"/>).</summary>
    protected virtual bool ReceivesGather => false;

    /// <summary>
    /// Takes one frame from the peer as <paramref name="head"/> followed by
    /// <paramref name="body1"/> and <paramref name="body2"/> (either may be empty); as
    /// <see cref="Receive"/> otherwise (the lock held, the same results).
    /// </summary>
    protected virtual ReceiveResult ReceiveGather(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2) =>
        throw new NotSupportedException($"{GetType().Name} takes whole frames");

    /// <summary>Hands a frame in pieces to the peer, as <see cref="Send"/> hands a whole one.</summary>
    protected internal DeliveryResult SendGather(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2)
    {
        var peer = _peer;
        if (_linkDown || peer is null)
        {
            Stats.CountDrop();
            return DeliveryResult.Delivered;
        }

        Stats.SentFrames++;
        Stats.SentBytes += head.Length + body1.Length + body2.Length;
        return peer.DeliverGather(head, body1, body2, this);
    }

    /// <summary>Delivers a frame in pieces to this client: in pieces when it takes them and nothing waits before it, else whole.</summary>
    internal virtual DeliveryResult DeliverGather(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2, NetClient sender)
    {
        var length = head.Length + body1.Length + body2.Length;
        if (length > MaxFrameSize)
        {
            Stats.CountDrop();
            return DeliveryResult.Dropped;
        }

        if (ReceivesGather)
        {
            lock (_lock)
            {
                if (_linkDown || IsClosed)
                {
                    Stats.CountDrop();
                    return DeliveryResult.Delivered;
                }

                if (_incoming.Count == 0)
                {
                    ReceiveResult result;
                    try
                    {
                        result = ReceiveGather(head, body1, body2);
                    }
                    catch (Exception e) when (ContainFault(e, this))
                    {
                        return DeliveryResult.Delivered;
                    }

                    if (result == ReceiveResult.Accepted)
                    {
                        Stats.ReceivedFrames++;
                        Stats.ReceivedBytes += length;
                        Stats.ReceivedInPieces++;
                        return DeliveryResult.Delivered;
                    }
                }
            }
        }

        // Whole: for a receiver that takes whole frames, or to queue behind what waits (a
        // receiver that could not take it now tries once more there, then queues it).
        return DeliverWhole(head, body1, body2, sender);
    }

    /// <summary>The pieces copied into one frame and delivered as <see cref="Send"/> would.</summary>
    private protected DeliveryResult DeliverWhole(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body1, ReadOnlySpan<byte> body2, NetClient sender)
    {
        var length = head.Length + body1.Length + body2.Length;
        var nested = t_gatheredInUse;
        var buffer = nested ? new byte[length] : t_gathered ??= new byte[MaxFrameSize];
        new FramePieces(head, body1, body2).CopyTo(buffer);
        t_gatheredInUse = true;
        try
        {
            return Deliver(buffer.AsSpan(0, length), sender);
        }
        finally
        {
            t_gatheredInUse = nested;
        }
    }
}
