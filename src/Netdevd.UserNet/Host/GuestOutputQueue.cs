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
internal sealed class GuestOutputQueue(int maxFrames, MemoryBudget? budget = null) : IFrameSink
{
    /// <summary>Bytes in front of each frame for a virtio-net header.</summary>
    public const int Headroom = Core.Clients.NetClient.VnetHeaderSize;

    private readonly Queue<(byte[] Buffer, int Length, int Reserved, GuestChecksum Checksum)> _frames = new(256);
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

    public void Commit(int length) => Enqueue(length, default);

    public void CommitPartialChecksum(int length, int checksumStart, int checksumOffset) =>
        Enqueue(length, new GuestChecksum((ushort)checksumStart, (ushort)checksumOffset));

    private void Enqueue(int length, GuestChecksum checksum)
    {
        var buffer = _current ?? throw new InvalidOperationException("Commit without Allocate");
        var reserved = _currentReserved;
        _current = null;
        _currentReserved = 0;
        lock (_lock)
        {
            _frames.Enqueue((buffer, length, reserved, checksum));
        }
    }

    private void ReleaseCurrent()
    {
        budget?.Release(_currentReserved);
        _currentReserved = 0;
    }

    /// <summary>
    /// The next frame: it starts at <see cref="Headroom"/> in <paramref name="buffer"/>;
    /// <paramref name="checksum"/> says whether its L4 checksum is left to the receiver.
    /// </summary>
    public bool TryDequeue(out byte[] buffer, out int length, out GuestChecksum checksum)
    {
        lock (_lock)
        {
            if (_frames.TryDequeue(out var frame))
            {
                (buffer, length, var reserved, checksum) = frame;
                budget?.Release(reserved);
                return true;
            }
        }

        buffer = [];
        length = 0;
        checksum = default;
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
        while (TryDequeue(out var b, out _, out _))
        {
            Return(b);
        }
    }
}
