using Netdevd.Backends.Io;
using Netdevd.Backends.VirtioNet;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Wire;

namespace Netdevd.Backends.Tap;

/// <summary>
/// One queue of a tap: its descriptor, its poll thread and its buffers. Reads frames until
/// EAGAIN (or <see cref="ReadBudget"/> per wakeup) and hands each to the client's peer
/// synchronously on this thread; stops reading while the peer pushes back. With a virtio-net header on the descriptor and a peer that keeps headers,
/// frames pass through whole; with a peer that does not, the header is resolved in software
/// (checksum, segmentation) and stripped.
/// </summary>
internal sealed class TapQueue : IPollTarget, IIdleReadTarget, ISegmentSink, IDisposable
{
    /// <summary>QEMU pads frames shorter than the Ethernet minimum (without FCS) for peers that are not virtio-net.</summary>
    private const int MinimumFrame = 60;

    /// <summary>
    /// Reads (a frame each) one wakeup makes at most before the loop goes back to its poll, as
    /// NAPI's weight bounds a driver's. A guest that sends faster than the peer takes frames
    /// never lets a read find EAGAIN: without a bound the loop never returned, the other netdevs
    /// of its I/O thread (--io-threads) stopped moving frames, and work posted to the thread (a
    /// deleted netdev's close, waited for under the registry's gate) never ran. The poll is
    /// level-triggered: a tap with more to read is reported again at once.
    /// </summary>
    private const int ReadBudget = 256;

    private readonly TapNetClient _owner;
    private readonly PollLoop _loop;
    private readonly byte[] _buffer;
    private readonly byte[]? _scratch;
    private readonly Action _resume;
    private readonly Action _updateReadInterest;
    private readonly int _headerLength;
    private volatile int _fd;
    private bool _blocked;
    private bool _lastDrainSingle = true;

    /// <summary>Whether the kernel honours RWF_NOWAIT on the descriptor: 0 not known yet, 1 it does, -1 it does not.</summary>
    private int _noWait;

    /// <summary>Whether the descriptor's send buffer is unlimited (a tap's default), or it has none the kernel reports.</summary>
    private readonly bool _sendBufferUnlimited;

    /// <summary>The descriptor's flags to put back after an idle read's first frame; -1 when there is nothing to undo.</summary>
    private int _restoreFlags = -1;

    public TapQueue(TapNetClient owner, int fd, int index, bool vnetHeader, IoThreadPool? pool = null)
    {
        _owner = owner;
        _fd = fd;
        _headerLength = vnetHeader ? NetClient.VnetHeaderSize : 0;

        // One read buffer reused for every frame: delivery is synchronous, and a peer that must
        // keep a frame copies it into its own queue. Pinned, since every read hands it to the kernel.
        _buffer = GC.AllocateUninitializedArray<byte>(_headerLength + NetClient.MaxFrameSize, pinned: true);
        _scratch = vnetHeader ? GC.AllocateUninitializedArray<byte>(NetClient.MaxFrameSize, pinned: true) : null;
        _resume = ResumeOnLoop;
        _updateReadInterest = UpdateReadInterest;
        _loop = new PollLoop($"tap:{owner.Name}:{index}", this, pool, owner);
        _loop.WantRead(false);
        _sendBufferUnlimited = SendBufferUnlimited(fd);
        _loop.Watch(fd);
        _loop.Start();
    }

    /// <summary>TUNGETSNDBUF: true for INT_MAX, and for a descriptor that is no tun (it has no such buffer to ask about).</summary>
    private static bool SendBufferUnlimited(int fd)
    {
        Span<byte> word = stackalloc byte[4];
        if (Libc.IoctlBuffer(fd, Tun.TUNGETSNDBUF, word) != 0)
        {
            return Errno.Last is Errno.ENOTTY or Errno.EINVAL;
        }

        return BitConverter.ToInt32(word) == int.MaxValue;
    }

    public int Fd => _fd;

    /// <summary>The peer can take frames again (posted to this queue's thread).</summary>
    public void Resume() => _loop.Post(_resume);

    /// <summary>The peer came or went: read only while there is one.</summary>
    public void PeerChanged() => _loop.Post(_updateReadInterest);

    /// <summary>A write hit EAGAIN: tell the owner when the descriptor is writable.</summary>
    public void WantWrite() => _loop.WantWrite(true);

    public void Dispose()
    {
        _loop.Dispose();
        var fd = _fd;
        _fd = -1;
        Native.Libc.Close(fd);
    }

    void IPollTarget.OnReadable() => Drain(0);

    /// <inheritdoc/>
    /// <remarks>
    /// Only once the kernel has shown that it honours RWF_NOWAIT on this descriptor (every other
    /// read of it uses that flag, see <see cref="ReadNoWait"/>), and only when its send buffer is
    /// unlimited (QEMU's default; a tap made with a smaller <c>sndbuf</c> could make the first
    /// frame's answer wait, written while the descriptor blocks).
    /// </remarks>
    bool IIdleReadTarget.CanReadWhenIdle => _noWait > 0 && _sendBufferUnlimited;

    IdleRead IIdleReadTarget.ReadWhenIdle(IoThread thread, PollLoop loop)
    {
        // O_NONBLOCK is cleared for the read and put back once the first frame is handled (its
        // answer written), off the echo's clock: a fcntl between the read and the frame cost
        // more than the read saved (bench/README, session 40). The drain's further reads do not
        // wait in the meantime: they use RWF_NOWAIT.
        var fd = _fd;
        var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        if (flags < 0 || (flags & Libc.O_NONBLOCK) == 0 || Libc.Fcntl(fd, Libc.F_SETFL, flags & ~Libc.O_NONBLOCK) != 0)
        {
            return IdleRead.Failed;
        }

        _restoreFlags = flags;
        try
        {
            var n = Libc.ReadOrErrno(fd, _buffer);
            thread.IdleReadReturned(loop, n > _headerLength);
            if (n < 0)
            {
                if (n == -Errno.EINTR || n == -Errno.EAGAIN)
                {
                    return IdleRead.Interrupted;
                }

                _owner.Counters.ReadError();
                return IdleRead.Failed;
            }

            if (n <= _headerLength)
            {
                // A runt, dropped as Read drops it.
                return IdleRead.Interrupted;
            }

            Drain((int)n);
            return IdleRead.Frame;
        }
        finally
        {
            // Put back already after the first frame, unless it never came or its handling threw.
            RestoreFlags();
        }
    }

    /// <summary>
    /// Gives the descriptor its O_NONBLOCK back after an idle read, and the thread its default
    /// slice (once; nothing when there is none to undo).
    /// </summary>
    private void RestoreFlags()
    {
        var flags = _restoreFlags;
        if (flags < 0)
        {
            return;
        }

        _restoreFlags = -1;
        IoThread.Current?.IdleFrameAnswered();
        if (Libc.Fcntl(_fd, Libc.F_SETFL, flags) != 0)
        {
            // Not seen (the descriptor is open and ours). Its reads never wait (RWF_NOWAIT); the
            // next idle read finds it blocking and leaves this tap to epoll from then on.
            _owner.Counters.ReadError();
        }
    }

    /// <summary>
    /// A read that does not wait, whether or not the descriptor has O_NONBLOCK (it has not from an
    /// idle read until that read's first frame is handled): preadv2 with RWF_NOWAIT, or a plain
    /// read on a kernel that does not honour the flag here (this tap is then never read idle, so
    /// O_NONBLOCK stays). The count, or -errno.
    /// </summary>
    private nint ReadNoWait(int fd, Span<byte> buffer)
    {
        if (_noWait >= 0)
        {
            var n = Libc.ReadNoWaitOrErrno(fd, buffer);
            if (n != -Errno.EOPNOTSUPP && n != -Errno.ENOSYS)
            {
                _noWait = 1;
                return n;
            }

            _noWait = -1;
        }

        return Libc.ReadOrErrno(fd, buffer);
    }

    /// <summary>
    /// Reads and hands on frames until the descriptor is drained, the peer pushes back or the
    /// budget is spent; <paramref name="first"/> is the length of a frame already read into the
    /// buffer (by an idle read), 0 for none.
    /// </summary>
    private void Drain(int first)
    {
        // One drain is one batch: receivers write what it delivered (a super-frame's segments
        // and whatever else came) together when it ends. A batch is opened by the first frame
        // that arrives, so a drain that finds nothing (the read after the last frame) tells no one.
        var frames = 0;
        var reads = 0;
        var inBatch = false;
        try
        {
            while (!_blocked && !_owner.IsClosed && reads++ < ReadBudget)
            {
                // Frames that pass whole (headers on both ends) are read straight into the
                // receiver's buffer when it lends one: a vhost-user ring slot takes the frame
                // without a copy. The receiver's lock is held from the lease to EndInPlace.
                Span<byte> slot = default;
                var inPlace = first == 0 && _headerLength != 0 && _owner.UsingVnetHeader && _owner.TryBeginInPlace(out slot);
                var n = first != 0 ? first : inPlace ? ReadInPlace(slot) : Read();
                first = 0;
                if (n == 0)
                {
                    break;
                }

                if (n < 0)
                {
                    continue;
                }

                if (!inBatch)
                {
                    TapNetClient.BeginBatch();
                    inBatch = true;
                }

                if (inPlace)
                {
                    _owner.EndInPlace(n);
                }
                else
                {
                    Deliver(n);
                }

                frames++;
                if (frames == 1)
                {
                    if (_lastDrainSingle)
                    {
                        // The drain before this one brought a single frame: traffic is a request at a
                        // time (ping, an RPC), and the answer to this frame should not wait for the
                        // read that is most likely to find nothing. The batch ends here, so the
                        // receivers write the answer now; should more frames follow, they form the
                        // next batch. Under load drains bring several frames and stay one batch.
                        inBatch = false;
                        _owner.EndBatch();
                    }

                    // After an idle read, once its frame is handled: no later write of this drain
                    // is made while the descriptor blocks.
                    RestoreFlags();
                }
            }
        }
        finally
        {
            if (inBatch)
            {
                _owner.EndBatch();
            }
        }

        _lastDrainSingle = frames <= 1;
    }

    /// <summary>Reads one frame into the buffer: its length with the header, or 0 when there is none (EAGAIN, an error, a runt).</summary>
    private int Read()
    {
        var fd = _fd;
        while (true)
        {
            var n = ReadNoWait(fd, _buffer);
            if (n < 0)
            {
                var errno = (int)-n;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != Errno.EAGAIN)
                {
                    _owner.Counters.ReadError();
                }

                return 0;
            }

            return n <= _headerLength ? 0 : (int)n;
        }
    }

    /// <summary>
    /// One read into a lent buffer: the frame's length with its header (the lease still held, for
    /// the caller's EndInPlace), 0 when the descriptor is drained or failed, or -1 for a frame that
    /// filled the buffer and may have been cut (dropped). Both end the lease.
    /// </summary>
    private int ReadInPlace(Span<byte> slot)
    {
        var fd = _fd;
        long n;
        do
        {
            n = ReadNoWait(fd, slot);
        }
        while (n == -Errno.EINTR);

        if (n < 0)
        {
            var errno = (int)-n;
            _owner.EndInPlace(-1);
            if (errno != Errno.EAGAIN)
            {
                _owner.Counters.ReadError();
            }

            return 0;
        }

        if (n <= _headerLength)
        {
            _owner.EndInPlace(-1);
            return 0;
        }

        // A lent buffer holds the largest frame a tap reads; a full one may have been cut.
        if (n == slot.Length)
        {
            _owner.EndInPlace(-1);
            return -1;
        }

        return (int)n;
    }

    void IPollTarget.OnWritable()
    {
        _loop.WantWrite(false);
        _owner.FlushFromQueue();
    }

    void IPollTarget.OnHangup()
    {
        // A tap reports POLLHUP/POLLERR only when its interface went away (deleted, namespace
        // gone): nothing more will come, so stop watching rather than spin. POLLHUP is reported
        // whatever events are asked for, so only dropping the descriptor from the poll set helps.
        _blocked = true;
        _loop.WantRead(false);
        _loop.Watch(-1);
    }

    void ISegmentSink.OnSegment(Span<byte> frame) => Hand(frame);

    /// <summary>The queue and its read buffer, the tap, and the path beyond the tap's peer (a hub, the user netdev, and back).</summary>
    void IPollTarget.CollectHot(HotObjects hot)
    {
        hot.Add(this);
        hot.Add(_buffer);
        _owner.CollectHotWithPeer(hot);
    }

    private void Deliver(int length)
    {
        if (_headerLength == 0)
        {
            Hand(Pad(length));
            return;
        }

        if (_owner.UsingVnetHeader)
        {
            // Both ends keep virtio-net headers: the super-frame and its offload requests pass as they are.
            Hand(_buffer.AsSpan(0, length));
            return;
        }

        var header = VirtioNetHeader.Read(_buffer);
        var frameLength = length - _headerLength;
        if (!header.IsGso && !header.NeedsChecksum)
        {
            Hand(PadAfterHeader(frameLength));
            return;
        }

        switch (SoftwareOffload.Resolve(header, _buffer.AsSpan(_headerLength, frameLength), _scratch, this))
        {
            case OffloadOutcome.Segmented:
                _owner.Counters.SegmentedFrame();
                break;
            case OffloadOutcome.ChecksumCompleted:
                _owner.Counters.ChecksumCompleted();
                break;
            case OffloadOutcome.Dropped:
                _owner.Counters.OffloadDrop();
                break;
        }
    }

    private Span<byte> Pad(int length)
    {
        if (length < MinimumFrame)
        {
            _buffer.AsSpan(length, MinimumFrame - length).Clear();
            length = MinimumFrame;
        }

        return _buffer.AsSpan(0, length);
    }

    private Span<byte> PadAfterHeader(int frameLength)
    {
        if (frameLength < MinimumFrame)
        {
            _buffer.AsSpan(_headerLength + frameLength, MinimumFrame - frameLength).Clear();
            frameLength = MinimumFrame;
        }

        return _buffer.AsSpan(_headerLength, frameLength);
    }

    private void Hand(ReadOnlySpan<byte> frame)
    {
        if (_owner.SendFrame(frame) == DeliveryResult.Queued)
        {
            // The peer keeps this frame in its queue; read no more until it drains (OnPeerReady).
            // Segments of the same super-frame still follow: they queue behind it.
            _blocked = true;
            _loop.WantRead(false);
        }
    }

    private void ResumeOnLoop()
    {
        _blocked = false;
        UpdateReadInterest();
    }

    private void UpdateReadInterest() => _loop.WantRead(!_blocked && !_owner.IsClosed && _owner.Peer is not null);
}
