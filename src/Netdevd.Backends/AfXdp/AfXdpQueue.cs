using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.AfXdp;

/// <summary>
/// One queue of an af-xdp netdev: its socket and the poll thread that empties its RX ring. A
/// readable socket is drained in batches of 64 descriptors (QEMU's AF_XDP_BATCH_SIZE), at most
/// <see cref="DrainBudget"/> of them per wakeup, each
/// frame handed to the peer straight from the UMEM and its frame put back into the fill ring
/// when the batch is done; nothing is allocated per frame. The TX side (<see cref="Transmit"/>)
/// is called by the client under its transmit lock, from the sender's thread.
/// </summary>
internal sealed class AfXdpQueue : IPollTarget, IDisposable
{
    private const uint Batch = 64;

    /// <summary>
    /// Batches one wakeup takes at most (256 frames) before the loop goes back to its poll. Traffic
    /// that arrives faster than the peer takes frames keeps the RX ring from emptying: without a
    /// bound the drain never ended, the other netdevs of its I/O thread (--io-threads) stopped
    /// moving frames and work posted to the thread (a deleted netdev's close, waited for under
    /// the registry's gate) never ran. The socket polls readable while its RX ring holds
    /// descriptors, so the rest is reported again at once.
    /// </summary>
    private const int DrainBudget = 4;

    /// <summary>
    /// Frames one sendto sends at most in copy mode (the kernel's TX_BATCH_SIZE; Linux 6.17's
    /// XDP_MAX_TX_SKB_BUDGET could change it per socket, netdevd leaves the default).
    /// </summary>
    private const uint KernelTxBudget = 32;

    private readonly AfXdpNetClient _owner;
    private readonly XdpSocket _socket;
    private readonly PollLoop _loop;
    private readonly ulong[] _recycle = new ulong[Batch];
    private readonly Action _resume;
    private readonly Action _updateReadInterest;
    private bool _blocked;
    private long _frames;

    public AfXdpQueue(AfXdpNetClient owner, XdpSocket socket, int index, IoThreadPool? pool = null)
    {
        _owner = owner;
        _socket = socket;
        Index = index;
        _resume = ResumeOnLoop;
        _updateReadInterest = UpdateReadInterest;
        _loop = new PollLoop($"af-xdp:{owner.Name}:{index}", this, pool, owner);
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
            for (var batches = 0; batches < DrainBudget && !_blocked && !_owner.IsClosed && DrainBatch(); batches++)
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
            _ = Kick();
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
    /// The wake-up that sends what is on the TX ring, once per batch of the sender. Under the
    /// transmit lock. Zero-copy: only when the TX ring asks for it (need_wakeup); the driver sends
    /// the rest by itself. Copy mode (all a veth offers) sends only inside a system call on the
    /// socket, and one call sends at most <see cref="KernelTxBudget"/> frames: it answers EAGAIN
    /// with the rest still on the ring. A sender's batch holds more than that (a tap drains all it
    /// has in one), and what is left on the ring stays there until something calls into this
    /// socket again; with two queues nothing did, and the peer's TCP flows stalled on ACKs that
    /// never left (the two-queue iperf3 test). So kick until the ring is empty. When the calls
    /// still answer EAGAIN after enough of them to empty it (no socket memory for more skbs, a
    /// busy device), the loop waits for POLLOUT, which the kernel reports once it can take more
    /// (and poll(2) itself drives a copy-mode transmit), and kicks again there. Returns whether
    /// the ring is empty (or nothing a wait could help with is left).
    /// </summary>
    public bool Kick()
    {
        var tx = _socket.Tx!;
        if (_socket.ZeroCopy)
        {
            if (tx.NeedsWakeup)
            {
                _ = Xdp.Kick(_socket.Fd);
            }

            return true;
        }

        var pending = tx.Pending;
        if (pending == 0)
        {
            return true;
        }

        for (var calls = (pending / KernelTxBudget) + 1; calls > 0; calls--)
        {
            if (Xdp.Kick(_socket.Fd) >= 0)
            {
                return true;
            }

            // EAGAIN: the budget ran out (more to send) or the kernel cannot take more now;
            // EBUSY: the device dropped a frame, the others may go. Anything else (ENETDOWN,
            // ENXIO) no wait for POLLOUT mends: the frames go with the next kick.
            var errno = Errno.Last;
            if (errno != Errno.EAGAIN && errno != Errno.EBUSY && errno != Errno.EINTR)
            {
                return true;
            }
        }

        _owner.Counters.TransmitDeferred();
        _loop.WantWrite(true);
        return false;
    }

    void IPollTarget.OnWritable() => _owner.OnQueueWritable(this);

    /// <summary>
    /// Writable again: send what the ring still holds and take back what completed; stop asking
    /// once the ring is empty and frames are free. Under the transmit lock.
    /// </summary>
    public bool TryStopWaitingForWrite()
    {
        // Copy mode completes inside the kick's sendto: take those frames back at once. The
        // socket may stay writable with no new readiness to report, so waiting for another
        // POLLOUT before looking could wait forever (the two-queue iperf3 test stalled on 5 queued frames).
        CompleteTransmits();
        var drained = Kick();
        CompleteTransmits();
        if (!drained || _socket.TxFreeCount == 0)
        {
            return false;
        }

        _loop.WantWrite(false);
        return true;
    }

    /// <summary>What this queue holds where, for a test's failure message or a bug report.</summary>
    public string Describe()
    {
        var text = $"queue {Index}: received {ReceivedFrames}{(_blocked ? ", reading paused for the peer" : "")}; " +
            $"rx ring {_socket.Rx?.Pending} ready, fill ring {_socket.Fill?.Pending} given, " +
            $"tx ring {_socket.Tx?.Pending} unsent, {_socket.TxFreeCount} of {_socket.RingSize} tx frames free, completion ring {_socket.Completion?.Pending} unreaped";
        if (Fd >= 0 && Xdp.TryGetStatistics(Fd, out var dropped, out var ringFull, out var fillEmpty, out var invalid))
        {
            text += $"; kernel: dropped {dropped}, rx ring full {ringFull}, fill ring empty {fillEmpty}, invalid {invalid}";
        }

        return text;
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
