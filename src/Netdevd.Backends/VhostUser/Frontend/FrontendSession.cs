using Netdevd.Wire;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Netdevd.Backends.Io;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Backends.VirtioNet;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.VhostUser.Frontend;

/// <summary>
/// One connection of a vhost-user front-end: the set-up a virtio-net driver and QEMU's vhost
/// code do together (features, memory table, rings, kick and call eventfds), then the data path.
/// Receive rings are drained on an I/O thread woken by the one call eventfd all rings share;
/// the transmit ring of the first pair is filled on the hub's thread, under its own lock.
/// </summary>
internal sealed class FrontendSession : IPollTarget, ISegmentSink, IDisposable
{
    private const int HeaderSize = NetClient.VnetHeaderSize;

    private readonly VhostUserNetClient _owner;
    private readonly VhostUserChannel _channel;
    private readonly FrontendMemory _memory;
    /// <summary>
    /// Frames one drain of the receive rings takes at most before the rest is posted to the loop,
    /// as the back-end side's transmit drain does. A back-end that refills the rings as fast as
    /// they are handed back (it gets each buffer back at once) never lets them run empty: without
    /// a bound the drain never ended, and the netdevs sharing the loop's thread (--io-threads)
    /// and work posted to it (a deleted netdev's close) waited for ever.
    /// </summary>
    private const int ReceiveBudget = 256;

    private readonly SplitDriverRing[] _rings;
    private readonly SafeFileHandle[] _kicks;
    private readonly SafeFileHandle _call;
    private readonly PollLoop _loop;
    private readonly Lock _txLock = new();
    private readonly int[] _txFree;
    private readonly byte[] _scratch = new byte[FrontendMemory.BufferSize];
    private readonly byte[] _message = new byte[VhostUserChannel.BufferSize];
    private readonly bool _hostEcn;
    private readonly Action _drainAll;
    private int _txFreeCount;
    private int _leasedSlot;
    private bool _txWaiting;
    private bool _stopped;
    private int _broken;
    private volatile bool _rxBlocked;

    /// <summary>Loop thread: frames the current drain may still take.</summary>
    private int _receiveLeft;

    private FrontendSession(VhostUserNetClient owner, VhostUserChannel channel, int queuePairs, ulong acked)
    {
        _owner = owner;
        _channel = channel;
        Features = acked;
        _hostEcn = VirtioFeatures.Has(acked, VirtioFeatures.NetHostEcn);
        var queues = queuePairs * 2;
        _memory = FrontendMemory.Create(queues);
        _rings = new SplitDriverRing[queues];
        _kicks = new SafeFileHandle[queues];
        var eventIndex = VirtioFeatures.Has(acked, VirtioFeatures.RingEventIdx);
        for (var q = 0; q < queues; q++)
        {
            _rings[q] = new SplitDriverRing(_memory.Mapping, _memory.RingOffset(q), FrontendMemory.RingSize, eventIndex);
            _kicks[q] = NewEventFd();
        }

        _call = NewEventFd();
        _txFree = new int[FrontendMemory.RingSize];
        _loop = new PollLoop($"vhost-user {owner.Name}", this, owner: owner);
        _drainAll = DrainAll;
    }

    /// <summary>The virtio features both ends agreed on.</summary>
    public ulong Features { get; }

    private SplitDriverRing TxRing => _rings[1];

    /// <summary>Negotiates and starts the rings; throws <see cref="VhostUserFrontendException"/> when the back-end refuses.</summary>
    public static FrontendSession Start(VhostUserNetClient owner, VhostUserChannel channel, int queuePairs)
    {
        var buffer = new byte[VhostUserChannel.BufferSize];
        var device = Get(channel, buffer, VhostUserRequest.GetFeatures);
        if (!VirtioFeatures.Has(device, VirtioFeatures.Version1))
        {
            throw new VhostUserFrontendException("the back-end does not offer VIRTIO_F_VERSION_1");
        }

        var acked = FrontendFeatures.Choose(device, queuePairs);
        var protocol = VirtioFeatures.Has(acked, VirtioFeatures.VhostUserProtocolFeatures);
        if (protocol)
        {
            var offered = Get(channel, buffer, VhostUserRequest.GetProtocolFeatures);
            var mq = VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Mq);
            Set(channel, VhostUserRequest.SetProtocolFeatures, offered & mq);
            if (queuePairs > 1)
            {
                var max = (offered & mq) != 0 ? Get(channel, buffer, VhostUserRequest.GetQueueNum) : 1;
                if ((ulong)queuePairs > max)
                {
                    throw new VhostUserFrontendException($"you are asking more queues than supported: {max}");
                }
            }
        }
        else if (queuePairs > 1)
        {
            throw new VhostUserFrontendException("the back-end has no multiqueue (no protocol features)");
        }

        Send(channel, VhostUserRequest.SetOwner, default);
        Set(channel, VhostUserRequest.SetFeatures, acked);

        var session = new FrontendSession(owner, channel, queuePairs, acked);
        try
        {
            session.SetUpRings(protocol);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private void SetUpRings(bool protocol)
    {
        Span<byte> state = stackalloc byte[VringState.Size];
        Span<byte> address = stackalloc byte[VringAddress.Size];
        Span<byte> table = stackalloc byte[MemoryTablePayload.HeaderSize + MemoryRegionDescription.WireSize];
        var length = MemoryTablePayload.Write(table, [_memory.Region]);
        Send(_channel, VhostUserRequest.SetMemTable, table[..length], _memory.Fd);

        for (var q = 0; q < _rings.Length; q++)
        {
            var ring = _rings[q];
            var receive = q % 2 == 0;
            for (var id = 0; id < FrontendMemory.RingSize; id++)
            {
                var buffer = FrontendMemory.Guest(_memory.BufferOffset(q, id));
                ring.WriteDescriptor(id, buffer, receive ? FrontendMemory.BufferSize : 0u, receive ? SplitRingLayout.DescriptorWrite : (ushort)0);
                if (receive)
                {
                    ring.Offer(id);
                }
            }

            if (receive)
            {
                _ = ring.Publish();
            }
            else
            {
                ring.DisableNotifications();
            }

            new VringState((uint)q, FrontendMemory.RingSize).Write(state);
            Send(_channel, VhostUserRequest.SetVringNum, state);
            new VringState((uint)q, 0).Write(state);
            Send(_channel, VhostUserRequest.SetVringBase, state);
            new VringAddress(
                (uint)q,
                0,
                FrontendMemory.User(ring.DescriptorOffset),
                FrontendMemory.User(ring.UsedOffset),
                FrontendMemory.User(ring.AvailableOffset),
                0).Write(address);
            Send(_channel, VhostUserRequest.SetVringAddr, address);
            SetFile(VhostUserRequest.SetVringCall, q, _call);
            SetFile(VhostUserRequest.SetVringKick, q, _kicks[q]);
        }

        if (protocol)
        {
            // With protocol features rings start disabled (vhost-user.rst, "Ring states").
            for (var q = 0; q < _rings.Length; q++)
            {
                new VringState((uint)q, 1).Write(state);
                Send(_channel, VhostUserRequest.SetVringEnable, state);
            }
        }

        for (var id = 0; id < FrontendMemory.RingSize; id++)
        {
            _txFree[_txFreeCount++] = FrontendMemory.RingSize - 1 - id;
        }

        _loop.Start();
        _loop.Watch((int)_call.DangerousGetHandle());
        for (var q = 0; q < _rings.Length; q += 2)
        {
            Kick(q);
        }
    }

    /// <summary>
    /// Blocks on the channel until the back-end goes away (it sends nothing unasked on it) or, after
    /// <see cref="RequestStop"/>, until it answered every GET_VRING_BASE.
    /// </summary>
    public void WaitForHangup()
    {
        var fds = new List<SafeFileHandle>();
        var answered = 0;
        while (true)
        {
            var status = _channel.Receive(_message, fds, out _);
            foreach (var fd in fds)
            {
                fd.Dispose();
            }

            fds.Clear();
            if (status != VhostUserReceiveStatus.Message)
            {
                return;
            }

            VhostUserHeader.TryRead(_message, out var header);
            if (header.Request == VhostUserRequest.GetVringBase && ++answered == _rings.Length)
            {
                return;
            }
        }
    }

    /// <summary>Stops the rings as QEMU does when a device stops (GET_VRING_BASE per ring); the answers end <see cref="WaitForHangup"/>.</summary>
    public void RequestStop()
    {
        StopDataPath();
        Span<byte> state = stackalloc byte[VringState.Size];
        for (var q = 0; q < _rings.Length; q++)
        {
            new VringState((uint)q, 0).Write(state);
            if (!_channel.Send(VhostUserRequest.GetVringBase, 0, state))
            {
                _channel.Shutdown();
                return;
            }
        }
    }

    /// <summary>Takes a frame from the hub into the transmit ring; Busy when all its descriptors are in flight.</summary>
    public ReceiveResult Transmit(ReadOnlySpan<byte> frame, bool withHeader, bool deferKick)
    {
        lock (_txLock)
        {
            if (_stopped)
            {
                return ReceiveResult.Accepted;
            }

            var length = withHeader ? frame.Length : frame.Length + HeaderSize;
            if (length > FrontendMemory.BufferSize || length <= HeaderSize)
            {
                _owner.CountDrop();
                return ReceiveResult.Accepted;
            }

            if (!TryReclaimTransmitted())
            {
                _owner.CountDrop();
                return ReceiveResult.Accepted;
            }

            if (_txFreeCount == 0)
            {
                // Ask the back-end to signal completions, then look once more before waiting for it.
                _txWaiting = true;
                if (TxRing.EnableNotifications() && !TryReclaimTransmitted())
                {
                    _owner.CountDrop();
                    return ReceiveResult.Accepted;
                }

                if (_txFreeCount == 0)
                {
                    FlushTransmit();
                    return ReceiveResult.Busy;
                }
            }

            var id = _txFree[--_txFreeCount];
            var slot = _memory.Buffer(1, id, length);
            if (withHeader)
            {
                frame.CopyTo(slot);
                if (!_hostEcn && (slot[1] & VirtioNetHeader.GsoEcn) != 0)
                {
                    slot[1] &= unchecked((byte)~VirtioNetHeader.GsoEcn);
                }
            }
            else
            {
                slot[..HeaderSize].Clear();
                frame.CopyTo(slot[HeaderSize..]);
            }

            TxRing.SetDescriptorLength(id, (uint)length);
            TxRing.Offer(id);
            if (!deferKick)
            {
                FlushTransmit();
            }

            return ReceiveResult.Accepted;
        }
    }

    /// <summary>
    /// Lends a free transmit slot (header and frame) for a sender to read the next frame into;
    /// false when none is free (the frame then takes <see cref="Transmit"/>, which waits for
    /// completions). On true the transmit lock stays held until <see cref="CompleteTransmitSlot"/>,
    /// so the rings and the memory outlive the read.
    /// </summary>
    public bool TryLeaseTransmitSlot(out Span<byte> slot)
    {
        slot = default;
        _txLock.Enter();
        if (!_stopped && TryReclaimTransmitted() && _txFreeCount > 0)
        {
            _leasedSlot = _txFree[--_txFreeCount];
            slot = _memory.Buffer(1, _leasedSlot, FrontendMemory.BufferSize);
            return true;
        }

        _txLock.Exit();
        return false;
    }

    /// <summary>The lent slot holds a frame of <paramref name="length"/> bytes (header first), or nothing (negative): offer it or take it back.</summary>
    public void CompleteTransmitSlot(int length, bool deferKick)
    {
        try
        {
            var id = _leasedSlot;
            if (length <= HeaderSize || length > FrontendMemory.BufferSize)
            {
                _txFree[_txFreeCount++] = id;
                if (length >= 0)
                {
                    _owner.CountDrop();
                }

                return;
            }

            var slot = _memory.Buffer(1, id, length);

            // A tap writes the 10-byte header and skips num_buffers: whatever the slot held stays there.
            slot[10] = 0;
            slot[11] = 0;
            if (!_hostEcn && (slot[1] & VirtioNetHeader.GsoEcn) != 0)
            {
                slot[1] &= unchecked((byte)~VirtioNetHeader.GsoEcn);
            }

            TxRing.SetDescriptorLength(id, (uint)length);
            TxRing.Offer(id);
            if (!deferKick)
            {
                FlushTransmit();
            }
        }
        finally
        {
            _txLock.Exit();
        }
    }

    /// <summary>Publishes what a batch offered and kicks once (OnBatchEnd).</summary>
    public void FlushBatch()
    {
        lock (_txLock)
        {
            if (!_stopped)
            {
                FlushTransmit();
            }
        }
    }

    /// <summary>The peer drained what it had to queue: drain the receive rings again on the loop.</summary>
    public void ResumeReceive()
    {
        if (_rxBlocked)
        {
            _loop.Post(() =>
            {
                _rxBlocked = false;
                DrainAll();
            });
        }
    }

    void IPollTarget.OnReadable()
    {
        Span<byte> counter = stackalloc byte[8];
        _ = Libc.Read((int)_call.DangerousGetHandle(), counter);
        DrainAll();
    }

    void IPollTarget.OnWritable()
    {
    }

    void IPollTarget.OnHangup()
    {
    }

    void ISegmentSink.OnSegment(Span<byte> frame) => Hand(frame);

    private void DrainAll()
    {
        if (Volatile.Read(ref _stopped))
        {
            return;
        }

        bool wake;
        try
        {
            if (!_rxBlocked)
            {
                _receiveLeft = ReceiveBudget;
                for (var q = 0; q < _rings.Length; q += 2)
                {
                    DrainReceive(q);
                }

                if (_receiveLeft == 0 && !_rxBlocked)
                {
                    // The budget ran out with notifications still off: the rest after a poll.
                    _loop.Post(_drainAll);
                }
            }

            lock (_txLock)
            {
                ReclaimTransmitted();
                wake = _txWaiting && _txFreeCount > 0;
                if (wake)
                {
                    _txWaiting = false;
                    TxRing.DisableNotifications();
                }
            }
        }
        catch (InvalidDataException e)
        {
            Break(e);
            return;
        }

        if (wake)
        {
            _owner.FlushIncoming();
        }
    }

    private void DrainReceive(int q)
    {
        var ring = _rings[q];
        ring.DisableNotifications();
        VhostUserNetClient.BeginBatch();
        try
        {
            while (true)
            {
                while (!_rxBlocked && _receiveLeft > 0 && ring.TryTakeUsed(out var id, out var length))
                {
                    _receiveLeft--;
                    var buffer = _memory.Buffer(q, id, FrontendMemory.BufferSize);
                    var numBuffers = MemoryMarshal.Read<ushort>(buffer[10..]);
                    if (numBuffers > 1)
                    {
                        // Every buffer holds the largest frame, so a well-behaved device never spreads one: drop it.
                        for (var extra = 1; extra < numBuffers && ring.TryTakeUsed(out var more, out _); extra++)
                        {
                            ring.Offer(more);
                        }

                        _owner.CountDrop();
                    }
                    else if (length > HeaderSize && length <= FrontendMemory.BufferSize)
                    {
                        try
                        {
                            Deliver(buffer[..(int)length]);
                        }
                        catch (Exception e) when (_owner.ContainFault(e, this))
                        {
                            // The frame is dropped and counted; its buffer goes back to the ring
                            // below, so one bad frame cannot shrink the ring (or, with the drain
                            // left with notifications off, stall it).
                        }
                    }

                    ring.Offer(id);
                }

                if (ring.Publish())
                {
                    Kick(q);
                }

                if (_rxBlocked || _receiveLeft == 0 || !ring.EnableNotifications())
                {
                    return;
                }
            }
        }
        finally
        {
            _owner.EndBatch();
        }
    }

    private void Deliver(Span<byte> frame)
    {
        if (_owner.UsingVnetHeader)
        {
            Hand(frame);
            return;
        }

        var header = VirtioNetHeader.Read(frame);
        var payload = frame[HeaderSize..];
        if (!header.IsGso && !header.NeedsChecksum)
        {
            if ((header.Flags & VirtioNetHeader.FlagDataValid) != 0)
            {
                // Vouched for, perhaps left empty (passt's TCP): the peer without headers checks it.
                _ = ChecksumCompletion.FillTransport(payload);
            }

            Hand(payload);
            return;
        }

        _ = SoftwareOffload.Resolve(header, payload, _scratch, this);
    }

    private void Hand(ReadOnlySpan<byte> frame)
    {
        if (_owner.SendFrame(frame) == DeliveryResult.Queued)
        {
            // The peer holds this one; take no more until it drained (OnPeerReady).
            _rxBlocked = true;
        }
    }

    private void ReclaimTransmitted()
    {
        while (TxRing.TryTakeUsed(out var id, out _))
        {
            _txFree[_txFreeCount++] = id;
        }
    }

    /// <summary>
    /// <see cref="ReclaimTransmitted"/> on a sender's thread: false when the back-end broke the
    /// ring, which ends the connection (the sender's frame is dropped, no exception reaches it).
    /// </summary>
    private bool TryReclaimTransmitted()
    {
        try
        {
            ReclaimTransmitted();
            return true;
        }
        catch (InvalidDataException e)
        {
            Break(e);
            return false;
        }
    }

    /// <summary>
    /// The back-end returned a descriptor it does not hold: the rings' state is not to be trusted
    /// any further (taking it would lend one buffer out twice), so the data path stops and the
    /// connection is cut; the client then waits for a back-end as after any disconnection.
    /// </summary>
    private void Break(InvalidDataException fault)
    {
        // Once: the receive drain and a sender can both find a broken ring.
        if (Interlocked.Exchange(ref _broken, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _stopped, true);
        _owner.ReportBrokenRing(fault.Message);
        _channel.Shutdown();
    }

    private void FlushTransmit()
    {
        if (TxRing.HasUnpublished && TxRing.Publish())
        {
            Kick(1);
        }
    }

    private void Kick(int q)
    {
        Span<byte> one = stackalloc byte[8];
        one[0] = 1;
        _ = Libc.Write((int)_kicks[q].DangerousGetHandle(), one);
    }

    private void SetFile(VhostUserRequest request, int q, SafeFileHandle fd)
    {
        Span<byte> value = stackalloc byte[VhostUserU64.Size];
        VhostUserU64.Write(value, new VringFile((uint)q, false).ToU64());
        Send(_channel, request, value, fd);
    }

    private void StopDataPath()
    {
        _loop.Dispose();
        lock (_txLock)
        {
            _stopped = true;
        }
    }

    public void Dispose()
    {
        StopDataPath();
        foreach (var k in _kicks)
        {
            k?.Dispose();
        }

        _call.Dispose();
        _memory.Dispose();
    }

    private static SafeFileHandle NewEventFd()
    {
        var fd = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (fd < 0)
        {
            throw new VhostUserFrontendException($"eventfd: {Errno.Message(Errno.Last)}");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private static void Send(VhostUserChannel channel, VhostUserRequest request, ReadOnlySpan<byte> payload, SafeHandle? fd = null)
    {
        var sent = fd is null ? channel.Send(request, 0, payload) : channel.Send(request, 0, payload, [fd]);
        if (!sent)
        {
            throw new VhostUserFrontendException($"vhost-user {request}: {Errno.Message(channel.LastErrno)}");
        }
    }

    private static void Set(VhostUserChannel channel, VhostUserRequest request, ulong value)
    {
        Span<byte> payload = stackalloc byte[VhostUserU64.Size];
        VhostUserU64.Write(payload, value);
        Send(channel, request, payload);
    }

    private static ulong Get(VhostUserChannel channel, byte[] buffer, VhostUserRequest request)
    {
        Send(channel, request, default);
        var fds = new List<SafeFileHandle>();
        var status = channel.Receive(buffer, fds, out var length);
        foreach (var fd in fds)
        {
            fd.Dispose();
        }

        if (status != VhostUserReceiveStatus.Message)
        {
            throw new VhostUserFrontendException($"vhost-user {request}: no reply ({status})");
        }

        if (VhostUserMessage.TryParse(buffer.AsSpan(0, length), out var reply, out _) != VhostUserParseStatus.Complete
            || reply.Request != request || !reply.Header.IsReply || !VhostUserU64.TryRead(reply.Payload, out var value))
        {
            throw new VhostUserFrontendException($"vhost-user {request}: malformed reply");
        }

        return value;
    }
}
