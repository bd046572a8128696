using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.AfXdp;

/// <summary>
/// One queue of an af-xdp netdev: its socket and the poll thread that empties its RX ring. A
/// readable socket is drained in batches of 64 descriptors (QEMU's AF_XDP_BATCH_SIZE), each
/// frame handed to the peer straight from the UMEM and its frame put back into the fill ring
/// when the batch is done; nothing is allocated per frame. The TX side (<see cref="Transmit"/>)
/// is called by the client under its transmit lock, from the sender's thread.
/// </summary>
internal sealed class AfXdpQueue : IPollTarget, IDisposable
{
    private const uint Batch = 64;

    private readonly AfXdpNetClient _owner;
    private readonly XdpSocket _socket;
    private readonly PollLoop _loop;
    private readonly ulong[] _recycle = new ulong[Batch];
    private readonly Action _resume;
    private readonly Action _updateReadInterest;
    private bool _blocked;
    private long _frames;

    public AfXdpQueue(AfXdpNetClient owner, XdpSocket socket, int index)
    {
        _owner = owner;
        _socket = socket;
        Index = index;
        _resume = ResumeOnLoop;
        _updateReadInterest = UpdateReadInterest;
        _loop = new PollLoop($"af-xdp:{owner.Name}:{index}", this, owner: owner);
        _loop.WantRead(false);
        _loop.Watch(socket.Fd);
        _loop.Start();
    }

    public int Index { get; }

    /// <summary>Frames received on this queue's socket (each queue has its own, for tests and diagnostics).</summary>
    public long ReceivedFrames => Interlocked.Read(ref _frames);

    public int Fd => _socket.Fd;

    public void Resume() => _loop.Post(_resume);

    public void PeerChanged() => _loop.Post(_updateReadInterest);

    void IPollTarget.OnReadable()
    {
        AfXdpNetClient.BeginBatch();
        try
        {
            while (!_blocked && !_owner.IsClosed && DrainBatch())
            {
            }
        }
        finally
        {
            _owner.EndBatch();
        }
    }

    /// <summary>One batch of the RX ring; false when it was empty or the peer pushed back.</summary>
    private bool DrainBatch()
    {
        var rx = _socket.Rx!;
        var n = rx.Peek(Batch, out var index);
        if (n == 0)
        {
            return false;
        }

        var taken = 0u;
        for (; taken < n;)
        {
            var address = rx.GetDescriptor(index + taken, out var length);
            _recycle[taken] = address;
            taken++;
            if (!_socket.IsReceiveFrame(address, length))
            {
                // Never from a sane kernel; a descriptor outside the receive half is not read.
                _owner.Counters.InvalidDescriptor();
                continue;
            }

            Interlocked.Increment(ref _frames);
            if (_owner.SendFrame(_socket.Memory!.Slice(address, (int)length)) == DeliveryResult.Queued)
            {
                // The peer copied this frame into its queue: read no more until it drains.
                _blocked = true;
                _loop.WantRead(false);
                break;
            }
        }

        rx.Cancel(n - taken);
        rx.Release();
        Refill(taken);
        return !_blocked;
    }

    /// <summary>The delivered frames go back to the kernel (the fill ring has room: they came out of it).</summary>
    private void Refill(uint count)
    {
        var fill = _socket.Fill!;
        if (count == 0 || !fill.TryReserve(count, out var index))
        {
            return;
        }

        for (var i = 0u; i < count; i++)
        {
            fill.SetAddress(index + i, _recycle[i]);
        }

        // A driver that stopped on an empty fill ring (need_wakeup) is woken by the next poll(2)
        // of this socket, which the loop makes anyway: no extra system call here.
        fill.Submit();
    }

    /// <summary>Takes back the transmit frames the kernel is done with. Under the client's transmit lock.</summary>
    public void CompleteTransmits()
    {
        var cq = _socket.Completion!;
        var n = cq.Peek(_socket.RingSize, out var index);
        for (var i = 0u; i < n; i++)
        {
            var address = cq.GetAddress(index + i);
            if (_socket.TxFreeCount < _socket.TxFree.Length)
            {
                _socket.TxFree[_socket.TxFreeCount++] = address;
            }
        }

        if (n != 0)
        {
            cq.Release();
        }
    }

    /// <summary>
    /// Puts one frame on the TX ring. Under the client's transmit lock. False when no frame or
    /// ring entry is free (the caller says Busy and waits for POLLOUT).
    /// </summary>
    public bool Transmit(ReadOnlySpan<byte> frame)
    {
        CompleteTransmits();
        var tx = _socket.Tx!;
        if (_socket.TxFreeCount == 0 || !tx.TryReserve(1, out var index))
        {
            Kick();
            _loop.WantWrite(true);
            return false;
        }

        var address = _socket.TxFree[--_socket.TxFreeCount];
        frame.CopyTo(_socket.Memory!.Slice(address, frame.Length));
        tx.SetDescriptor(index, address, (uint)frame.Length);
        tx.Submit();
        return true;
    }

    /// <summary>
    /// The wake-up the kernel asks for, once per batch. Under the transmit lock. Zero-copy says
    /// so with need_wakeup on the TX ring; copy mode (all a veth offers) sends only inside a
    /// system call and never sets the flag, so it always needs one.
    /// </summary>
    public void Kick()
    {
        if (!_socket.ZeroCopy || _socket.Tx!.NeedsWakeup)
        {
            _ = Xdp.Kick(_socket.Fd);
        }
    }

    void IPollTarget.OnWritable() => _owner.OnQueueWritable(this);

    /// <summary>Writable again and frames are free: stop asking. Under the transmit lock.</summary>
    public bool TryStopWaitingForWrite()
    {
        CompleteTransmits();
        if (_socket.TxFreeCount == 0)
        {
            // Copy mode completes inside the kick's sendto: take those frames back at once. The
            // socket may stay writable with no new readiness to report, so waiting for another
            // POLLOUT here could wait forever (the two-queue iperf3 test stalled on 5 queued frames).
            Kick();
            CompleteTransmits();
            if (_socket.TxFreeCount == 0)
            {
                return false;
            }
        }

        _loop.WantWrite(false);
        return true;
    }

    void IPollTarget.OnHangup()
    {
        // The interface went away (deleted, its namespace gone): nothing more will come.
        _blocked = true;
        _loop.WantRead(false);
        _loop.Watch(-1);
    }

    private void ResumeOnLoop()
    {
        _blocked = false;
        UpdateReadInterest();
    }

    private void UpdateReadInterest()
    {
        _loop.WantRead(!_blocked && !_owner.IsClosed && _owner.Peer is not null);
    }

    public void Dispose()
    {
        _loop.Dispose();
        _socket.Dispose();
    }
}
