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
internal sealed class TapQueue : IPollTarget, ISegmentSink, IDisposable
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
        _loop.Watch(fd);
        _loop.Start();
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

    void IPollTarget.OnReadable()
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
                var inPlace = _headerLength != 0 && _owner.UsingVnetHeader && _owner.TryBeginInPlace(out slot);
                var n = inPlace ? ReadInPlace(slot) : Read();
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
                if (frames == 1 && _lastDrainSingle)
                {
                    // The drain before this one brought a single frame: traffic is a request at a
                    // time (ping, an RPC), and the answer to this frame should not wait for the
                    // read that is most likely to find nothing. The batch ends here, so the
                    // receivers write the answer now; should more frames follow, they form the
                    // next batch. Under load drains bring several frames and stay one batch.
                    inBatch = false;
                    _owner.EndBatch();
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
            var n = Libc.ReadOrErrno(fd, _buffer);
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
            n = Libc.ReadOrErrno(fd, slot);
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
