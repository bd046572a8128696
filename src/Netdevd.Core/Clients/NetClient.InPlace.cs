using Netdevd.Core.Hubs;

namespace Netdevd.Core.Clients;

/// <summary>
/// Sending in place: a sender that reads frames from a descriptor (a tap) may read the next one
/// straight into a buffer of the receiver's (a slot of a vhost-user ring in shared memory)
/// instead of into its own buffer and then having the receiver copy it. The sender asks with
/// <see cref="TryBeginSendInPlace"/>, reads, and always ends with <see cref="EndSendInPlace"/>
/// (the length read, or -1 when nothing came). Between the two the receiver's lock is held (as
/// during <see cref="Receive"/>), so nothing else may be delivered to it or take its buffer away;
/// the sender does nothing but the read meanwhile. Offered only where it changes nothing a user
/// sees: the receiver is the sender's peer, or the one other end of a two-port hub, it has no
/// frames queued (order is kept), and the frame's layout is the link's (the sender passes frames
/// as they are). Everything else takes the ordinary path, <see cref="Send"/>.
/// </summary>
public abstract partial class NetClient
{
    /// <summary>
    /// The smallest buffer a receiver lends (<see cref="TryLeaseReceiveBuffer"/>): a virtio-net
    /// header and the largest frame a tap reads (a 64 KiB GSO super-frame with its Ethernet and
    /// VLAN headers), so a frame never has to be cut to fit.
    /// </summary>
    public const int MinimumInPlaceBuffer = VnetHeaderSize + 65536 + 64;

    // The receiver (and the hub ports on the way) of the in-place send this thread has begun.
    [ThreadStatic]
    private static InPlaceSend t_inPlace;

    /// <summary>
    /// Set for good once a client that lends (<see cref="LendsReceiveBuffers"/>: vhost-user) got a
    /// peer. Until then no sender has anyone to ask, and a tap's read after a wake-up skips the
    /// peer and hub lookups (cold cache lines between the poll and the read, about 2 µs of a
    /// gateway ping's 70 on this machine kind).
    /// </summary>
    private static volatile bool s_lenderConnected;

    /// <summary>
    /// Sender: asks for the buffer the next frame should be read into. True with the lock of the
    /// receiver held until <see cref="EndSendInPlace"/>; false when the frame must go by <see cref="Send"/>.
    /// </summary>
    protected bool TryBeginSendInPlace(out Span<byte> buffer)
    {
        buffer = default;
        if (!s_lenderConnected)
        {
            return false;
        }

        var peer = _peer;
        if (_linkDown || peer is null || t_inPlace.Receiver is not null)
        {
            return false;
        }

        HubPort? entry = null;
        HubPort? exit = null;
        var receiver = peer;
        if (peer is HubPort port)
        {
            // Through a hub only to its one other end, and only when that end is not another hub.
            if (port.LinkDown || port.IsClosed || !port.Hub.TryGetSoleExit(port, out var other)
                || other.LinkDown || other.Peer is not { } end || end is HubPort)
            {
                return false;
            }

            entry = port;
            exit = other;
            receiver = end;
        }

        // Most receivers never lend (they take frames by Receive): asked first, without their lock.
        if (!receiver.LendsReceiveBuffers || !receiver.TryLease(out buffer))
        {
            return false;
        }

        t_inPlace = new InPlaceSend(receiver, entry, exit);
        return true;
    }

    /// <summary>
    /// Sender: the frame is in the buffer (<paramref name="length"/> bytes), or nothing was read
    /// (a negative length: the buffer goes back unused). Releases the receiver's lock.
    /// </summary>
    protected void EndSendInPlace(int length)
    {
        var send = t_inPlace;
        t_inPlace = default;
        if (send.Receiver is null)
        {
            throw new InvalidOperationException("no frame is being sent in place on this thread");
        }

        if (length >= 0)
        {
            Stats.SentFrames++;
            Stats.SentBytes += length;
            if (send.Entry is { } entry && send.Exit is { } exit)
            {
                entry.Stats.ReceivedFrames++;
                entry.Stats.ReceivedBytes += length;
                exit.Stats.SentFrames++;
                exit.Stats.SentBytes += length;
            }
        }

        send.Receiver.CompleteLease(length);
    }

    /// <summary>
    /// Whether this kind of receiver ever lends a buffer (<see cref="TryLeaseReceiveBuffer"/>):
    /// the tap asks for every frame it reads, and a receiver that never lends (the user netdev,
    /// a socket) then costs the sender no lock, no hub lookup and no cold cache lines per frame.
    /// </summary>
    protected virtual bool LendsReceiveBuffers => false;

    /// <summary>
    /// Receiver, under its lock: lends the buffer the next frame from the peer is read into
    /// (at least <see cref="MinimumInPlaceBuffer"/> bytes; frames in the link's layout). Default:
    /// never (every frame comes through <see cref="Receive"/>).
    /// </summary>
    protected virtual bool TryLeaseReceiveBuffer(out Span<byte> buffer)
    {
        buffer = default;
        return false;
    }

    /// <summary>
    /// Receiver, under its lock: the lent buffer holds a frame of <paramref name="length"/> bytes
    /// (take it as <see cref="Receive"/> would: it cannot be refused or queued any more), or
    /// nothing (a negative length: give the buffer back).
    /// </summary>
    protected virtual void CompleteReceiveBuffer(int length)
    {
    }

    private bool TryLease(out Span<byte> buffer)
    {
        var held = false;
        _lock.Enter();
        try
        {
            if (!_linkDown && !IsClosed && _incoming.Count == 0 && TryLeaseReceiveBuffer(out buffer))
            {
                if (buffer.Length >= MinimumInPlaceBuffer)
                {
                    // Held until CompleteLease.
                    held = true;
                    return true;
                }

                CompleteReceiveBuffer(-1);
            }
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // Counted; the frame takes the ordinary path.
        }
        finally
        {
            if (!held)
            {
                _lock.Exit();
            }
        }

        buffer = default;
        return false;
    }

    private void CompleteLease(int length)
    {
        try
        {
            CompleteReceiveBuffer(length);
            if (length >= 0)
            {
                Stats.ReceivedFrames++;
                Stats.ReceivedBytes += length;
                Stats.ReceivedInPlace++;
            }
        }
        catch (Exception e) when (ContainFault(e, this))
        {
            // The frame is dropped (counted as a fault); the sender goes on.
        }
        finally
        {
            _lock.Exit();
        }
    }

    private readonly record struct InPlaceSend(NetClient? Receiver, HubPort? Entry, HubPort? Exit);
}
