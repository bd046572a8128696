using System.Buffers;

namespace Netdevd.Core.Clients;

/// <summary>
/// A client's incoming queue: frames that arrived while it was busy, copied into pooled
/// buffers, bounded in count and bytes so that no sender can grow memory without limit
/// (QEMU's net/queue.c caps at 10000 packets; we also cap bytes because frames may be 64 KiB).
/// Not thread-safe: the owning client's lock guards it.
/// </summary>
internal sealed class NetQueue
{
    private readonly Queue<Entry> _frames = new();
    private readonly List<NetClient> _waitingSenders = [];
    private readonly int _maxFrames;
    private readonly long _maxBytes;
    private long _bytes;

    public NetQueue(int maxFrames, long maxBytes)
    {
        _maxFrames = maxFrames;
        _maxBytes = maxBytes;
    }

    public int Count => _frames.Count;

    /// <summary>Copies the frame in; false when the queue is full.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> frame, NetClient sender)
    {
        if (_frames.Count >= _maxFrames || _bytes + frame.Length > _maxBytes)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        _frames.Enqueue(new Entry(buffer, frame.Length));
        _bytes += frame.Length;
        if (!_waitingSenders.Contains(sender))
        {
            _waitingSenders.Add(sender);
        }

        return true;
    }

    public bool TryPeek(out ReadOnlySpan<byte> frame)
    {
        if (_frames.TryPeek(out var e))
        {
            frame = e.Buffer.AsSpan(0, e.Length);
            return true;
        }

        frame = default;
        return false;
    }

    /// <summary>Removes the head frame and returns its buffer to the pool.</summary>
    public void DropHead()
    {
        var e = _frames.Dequeue();
        _bytes -= e.Length;
        ArrayPool<byte>.Shared.Return(e.Buffer);
    }

    /// <summary>Hands out the senders that were told to wait and forgets them.</summary>
    public NetClient[] TakeWaitingSenders()
    {
        if (_waitingSenders.Count == 0)
        {
            return [];
        }

        var senders = _waitingSenders.ToArray();
        _waitingSenders.Clear();
        return senders;
    }

    /// <summary>Discards everything (the client is going away); the waiting senders are returned so they can resume.</summary>
    public NetClient[] Clear()
    {
        while (_frames.Count > 0)
        {
            DropHead();
        }

        return TakeWaitingSenders();
    }

    private readonly record struct Entry(byte[] Buffer, int Length);
}
