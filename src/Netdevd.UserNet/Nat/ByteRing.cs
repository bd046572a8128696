using System.Buffers;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// A byte ring over one pooled array: a TCP connection's send or receive buffer.
/// Data sits at [head, head+count); writers may also place bytes further out into the free space
/// (<see cref="WriteAt"/>, for out-of-order segments) and commit them later.
/// </summary>
/// <remarks>
/// The host side reads into <see cref="WritableSegment"/> and writes from
/// <see cref="ReadableSegment"/> without a copy (a socket receives straight into the ring); those
/// regions never overlap what the stack touches, so no lock is needed beyond the stack's own.
/// </remarks>
internal sealed class ByteRing : IDisposable
{
    private byte[]? _buffer;
    private int _capacity;
    private int _head;
    private int _count;

    // Whether the array was lent (MarkLent): queued frames may still point into it, so it never goes
    // back to the shared pool, where another flow could rent it and write over their bytes.
    private bool _lent;

    public ByteRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
    }

    public int Capacity => _capacity;

    public int Count => _count;

    public int Free => _capacity - _count;

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(ByteRing));

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns the bytes taken.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        var n = Math.Min(data.Length, Free);
        WriteAt(0, data[..n]);
        _count += n;
        return n;
    }

    /// <summary>Copies <paramref name="data"/> to <paramref name="offset"/> bytes past the end of the data, without committing it.</summary>
    public void WriteAt(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > Free)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        var buffer = Buffer;
        var start = (_head + _count + offset) % _capacity;
        var first = Math.Min(data.Length, _capacity - start);
        data[..first].CopyTo(buffer.AsSpan(start));
        data[first..].CopyTo(buffer);
    }

    /// <summary>Makes <paramref name="n"/> bytes written past the end (or into <see cref="WritableSegment"/>) part of the data.</summary>
    public void Commit(int n)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, Free);
        _count += n;
    }

    /// <summary>The contiguous free region right after the data (empty when full).</summary>
    public ArraySegment<byte> WritableSegment()
    {
        if (_count == _capacity)
        {
            return ArraySegment<byte>.Empty;
        }

        var tail = (_head + _count) % _capacity;
        var length = tail >= _head ? _capacity - tail : _head - tail;
        return new ArraySegment<byte>(Buffer, tail, Math.Min(length, Free));
    }

    /// <summary>
    /// All the free space after the data as one or two regions: up to the end of the buffer, then
    /// from its start once the data wrapped (empty when full), so one vectored read can fill it.
    /// </summary>
    public void WritableSegments(out ArraySegment<byte> first, out ArraySegment<byte> second)
    {
        first = WritableSegment();
        var rest = Free - first.Count;
        second = rest > 0 ? new ArraySegment<byte>(Buffer, 0, rest) : ArraySegment<byte>.Empty;
    }

    /// <summary>The contiguous data at the head (empty when there is none).</summary>
    public ArraySegment<byte> ReadableSegment() =>
        _count == 0 ? ArraySegment<byte>.Empty : new ArraySegment<byte>(Buffer, _head, Math.Min(_count, _capacity - _head));

    /// <summary>The data in [offset, offset+length) as one or two spans (the ring may wrap).</summary>
    public void Peek(int offset, int length, out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> second)
    {
        PeekSegments(offset, length, out var a, out var b);
        first = a;
        second = b;
    }

    /// <summary>
    /// The data in [offset, offset+length) as one or two segments of the ring's array. They keep
    /// their bytes while the data is not consumed; a caller that keeps them beyond that (a frame
    /// that goes out later) calls <see cref="MarkLent"/>.
    /// </summary>
    public void PeekSegments(int offset, int length, out ArraySegment<byte> first, out ArraySegment<byte> second)
    {
        if (offset < 0 || length < 0 || offset + length > _count)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        var buffer = Buffer;
        var start = (_head + offset) % _capacity;
        var firstLength = Math.Min(length, _capacity - start);
        first = new ArraySegment<byte>(buffer, start, firstLength);
        second = new ArraySegment<byte>(buffer, 0, length - firstLength);
    }

    /// <summary>Segments of the current array went to frames still queued: it is never pooled again.</summary>
    public void MarkLent() => _lent = true;

    /// <summary>
    /// Moves the data to a larger array (head at 0); every span handed out before is stale. The
    /// stack grows a ring only between socket calls, which all run under its lock.
    /// </summary>
    public void Grow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(capacity, _capacity);
        var old = Buffer;
        var larger = ArrayPool<byte>.Shared.Rent(capacity);
        Peek(0, _count, out var first, out var second);
        first.CopyTo(larger);
        second.CopyTo(larger.AsSpan(first.Length));
        _buffer = larger;
        _capacity = capacity;
        _head = 0;
        Release(old);
    }

    /// <summary>Drops <paramref name="n"/> bytes from the head.</summary>
    public void Consume(int n)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, _count);
        _head = (_head + n) % _capacity;
        _count -= n;

        // No rewinding to 0 when empty: a host read may be in flight into the free region.
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            Release(buffer);
        }
    }

    /// <summary>Gives an array up: back to the pool, unless frames may still point into it (then to the GC, once they are gone).</summary>
    private void Release(byte[] array)
    {
        if (!_lent)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _lent = false;
    }
}
