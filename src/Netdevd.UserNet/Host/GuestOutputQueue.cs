using Netdevd.Core.Clients;
using Netdevd.UserNet.Interface;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The frames the stack produced for the guest, waiting to be handed to the peer outside the
/// stack's lock (the stack may run inside the peer's delivery, where sending back is forbidden).
/// Buffers come from the shared pool and go back after sending: no allocation in steady state.
/// Bounded in frames and by the netdev's <see cref="MemoryBudget"/> (each buffer is reserved from
/// it until its frame leaves the queue); beyond either <see cref="Allocate"/> answers empty and the
/// stack counts a drop. Every buffer keeps <see cref="Headroom"/> bytes in front of the frame, where
/// the virtio-net header goes when the link carries one (no copy to prepend it).
/// </summary>
internal sealed class GuestOutputQueue(int maxFrames, MemoryBudget? budget = null) : IGatherFrameSink
{
    /// <summary>Bytes in front of each frame for a virtio-net header.</summary>
    public const int Headroom = Core.Clients.NetClient.VnetHeaderSize;

    private readonly Queue<QueuedFrame> _frames = new(256);
    private readonly Lock _lock = new();

    /// <summary>
    /// The queue's own buffers (under <c>_lock</c>): a burst queues hundreds of frames before the
    /// drain returns them, more than the shared pool keeps per size, which then allocated a new
    /// buffer per frame.
    /// </summary>
    private readonly FrameBufferPool _pool = new();
    private byte[]? _current;
    private int _currentReserved;

    /// <summary>Frames refused because the queue was full.</summary>
    public long Overflows { get; private set; }

    public bool IsEmpty
    {
        get
        {
            lock (_lock)
            {
                return _frames.Count == 0;
            }
        }
    }

    public Span<byte> Allocate(int maxLength)
    {
        lock (_lock)
        {
            if (_frames.Count >= maxFrames)
            {
                Overflows++;
                return default;
            }

            if (_current is null || _current.Length < Headroom + maxLength)
            {
                if (_current is not null)
                {
                    _pool.Return(_current);
                    ReleaseCurrent();
                }

                _current = _pool.Rent(Headroom + maxLength);
            }
        }

        if (_currentReserved == 0 && budget is not null)
        {
            if (!budget.TryReserve(_current.Length, MemoryUse.Transient))
            {
                lock (_lock)
                {
                    Overflows++;
                }

                return default;
            }

            _currentReserved = _current.Length;
        }

        return _current.AsSpan(Headroom);
    }

    /// <summary>The queue, its lock, its buffers' pool and the buffer the next frame is written into.</summary>
    public void CollectHot(HotObjects hot)
    {
        hot.Add(this);
        hot.Add(_lock);
        hot.Add(_frames);
        lock (_lock)
        {
            _pool.CollectHot(hot);
            hot.Add(_current);
        }
    }

    public void Commit(int length) => Enqueue(length, default, default, default);

    public void CommitPartialChecksum(int length, int checksumStart, int checksumOffset) =>
        Enqueue(length, new GuestChecksum((ushort)checksumStart, (ushort)checksumOffset), default, default);

    public void CommitPartialChecksumGather(int headLength, int checksumStart, int checksumOffset, ArraySegment<byte> body1, ArraySegment<byte> body2) =>
        Enqueue(headLength, new GuestChecksum((ushort)checksumStart, (ushort)checksumOffset), body1, body2);

    private void Enqueue(int length, GuestChecksum checksum, ArraySegment<byte> body1, ArraySegment<byte> body2)
    {
        var buffer = _current ?? throw new InvalidOperationException("Commit without Allocate");
        var reserved = _currentReserved;
        _current = null;
        _currentReserved = 0;
        lock (_lock)
        {
            _frames.Enqueue(new QueuedFrame(buffer, length, reserved, checksum, body1, body2));
        }
    }

    private void ReleaseCurrent()
    {
        budget?.Release(_currentReserved);
        _currentReserved = 0;
    }

    /// <summary>
    /// The next frame: it starts at <see cref="Headroom"/> in <paramref name="buffer"/>;
    /// <paramref name="checksum"/> says whether its L4 checksum is left to the receiver. A frame
    /// in pieces has only its headers there (<paramref name="length"/> bytes), its payload in
    /// <paramref name="body1"/> and <paramref name="body2"/> (both empty for a whole frame).
    /// </summary>
    public bool TryDequeue(out byte[] buffer, out int length, out GuestChecksum checksum, out ArraySegment<byte> body1, out ArraySegment<byte> body2)
    {
        lock (_lock)
        {
            if (_frames.TryDequeue(out var frame))
            {
                buffer = frame.Buffer;
                length = frame.Length;
                checksum = frame.Checksum;
                body1 = frame.Body1;
                body2 = frame.Body2;
                budget?.Release(frame.Reserved);
                return true;
            }
        }

        buffer = [];
        length = 0;
        checksum = default;
        body1 = default;
        body2 = default;
        return false;
    }

    public void Return(byte[] buffer)
    {
        lock (_lock)
        {
            _pool.Return(buffer);
        }
    }

    public void Clear()
    {
        while (TryDequeue(out var b, out _, out _, out _, out _))
        {
            Return(b);
        }
    }
}

/// <summary>A queued frame: its buffer (headers, or all of it), and the payload pieces of one sent in pieces.</summary>
internal readonly record struct QueuedFrame(byte[] Buffer, int Length, int Reserved, GuestChecksum Checksum, ArraySegment<byte> Body1, ArraySegment<byte> Body2);
