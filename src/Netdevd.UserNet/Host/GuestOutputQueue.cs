using System.Buffers;
using Netdevd.UserNet.Interface;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The frames the stack produced for the guest, waiting to be handed to the peer outside the
/// stack's lock (the stack may run inside the peer's delivery, where sending back is forbidden).
/// Buffers come from the shared pool and go back after sending: no allocation in steady state.
/// Bounded in frames and by the netdev's <see cref="MemoryBudget"/> (each buffer is reserved from
/// it until its frame leaves the queue); beyond either <see cref="Allocate"/> answers empty and the
/// stack counts a drop.
/// </summary>
internal sealed class GuestOutputQueue(int maxFrames, MemoryBudget? budget = null) : IFrameSink
{
    private readonly Queue<(byte[] Buffer, int Length, int Reserved)> _frames = new(256);
    private readonly Lock _lock = new();

    /// <summary>
    /// The queue's own buffers: a burst queues hundreds of frames before the drain returns them,
    /// more than the shared pool keeps per size, which then allocated a new buffer per frame.
    /// </summary>
    private readonly ArrayPool<byte> _pool = ArrayPool<byte>.Create(1 << 17, 256);
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
        }

        if (_current is null || _current.Length < maxLength)
        {
            if (_current is not null)
            {
                _pool.Return(_current);
                ReleaseCurrent();
            }

            _current = _pool.Rent(Math.Max(maxLength, 2048));
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

        return _current;
    }

    public void Commit(int length)
    {
        var buffer = _current ?? throw new InvalidOperationException("Commit without Allocate");
        var reserved = _currentReserved;
        _current = null;
        _currentReserved = 0;
        lock (_lock)
        {
            _frames.Enqueue((buffer, length, reserved));
        }
    }

    private void ReleaseCurrent()
    {
        budget?.Release(_currentReserved);
        _currentReserved = 0;
    }

    public bool TryDequeue(out byte[] buffer, out int length)
    {
        lock (_lock)
        {
            if (_frames.TryDequeue(out var frame))
            {
                (buffer, length, var reserved) = frame;
                budget?.Release(reserved);
                return true;
            }
        }

        buffer = [];
        length = 0;
        return false;
    }

    public void Return(byte[] buffer) => _pool.Return(buffer);

    public void Clear()
    {
        while (TryDequeue(out var b, out _))
        {
            Return(b);
        }
    }
}
