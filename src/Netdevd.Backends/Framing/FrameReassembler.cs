using System.Buffers;
using System.Buffers.Binary;
using Netdevd.Core.Clients;

namespace Netdevd.Backends.Framing;

/// <summary>
/// Receive side of the stream framing (4-byte big-endian length, then the frame), QEMU's
/// SocketReadState. The socket is read straight into one pooled buffer large enough for several
/// maximum frames, and whole frames are handed out as views into it: no copy and no allocation
/// per frame, many frames per read. Only the incomplete tail of a read is ever moved (to the
/// buffer's start, when it would not fit behind). Not thread-safe: one reader thread owns it.
/// </summary>
internal sealed class FrameReassembler : IDisposable
{
    public const int HeaderSize = 4;

    /// <summary>Room kept free for one read; smaller free tails are compacted away first.</summary>
    private const int MinReadSpace = 64 * 1024;

    private readonly int _maxFrame;
    private byte[] _buffer;
    private int _start;
    private int _end;

    public FrameReassembler(int capacity = 256 * 1024, int maxFrameSize = NetClient.MaxFrameSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, HeaderSize + maxFrameSize + 1);
        _maxFrame = maxFrameSize;
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
    }

    /// <summary>Bytes received but not yet handed out as frames.</summary>
    public int Buffered => _end - _start;

    /// <summary>Zero-length frames skipped (QEMU would deliver an empty frame; there is nothing to deliver).</summary>
    public long ZeroLengthFrames { get; private set; }

    /// <summary>The length the last <see cref="FrameStatus.Oversize"/> header announced.</summary>
    public uint OversizeLength { get; private set; }

    /// <summary>
    /// Where the next read should write. Always at least <see cref="MinReadSpace"/> bytes, and
    /// always enough for the pending frame to complete in place.
    /// </summary>
    public Span<byte> GetReadSpace()
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_buffer.Length - _end < MinReadSpace || !PendingFitsInPlace())
        {
            var pending = _end - _start;
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _start = 0;
            _end = pending;
        }

        return _buffer.AsSpan(_end);
    }

    /// <summary>Records that <paramref name="count"/> bytes were read into the span from <see cref="GetReadSpace"/>.</summary>
    public void Commit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _end);
        _end += count;
    }

    /// <summary>
    /// The next whole frame, as a view valid until the next <see cref="GetReadSpace"/> or
    /// <see cref="Reset"/>. Zero-length frames are skipped and counted.
    /// </summary>
    public FrameStatus TryTake(out ReadOnlySpan<byte> frame)
    {
        while (_end - _start >= HeaderSize)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start, HeaderSize));
            if (length > (uint)_maxFrame)
            {
                OversizeLength = length;
                frame = default;
                return FrameStatus.Oversize;
            }

            if (length == 0)
            {
                ZeroLengthFrames++;
                _start += HeaderSize;
                continue;
            }

            if (_end - _start - HeaderSize < (int)length)
            {
                break;
            }

            frame = _buffer.AsSpan(_start + HeaderSize, (int)length);
            _start += HeaderSize + (int)length;
            return FrameStatus.Frame;
        }

        frame = default;
        return FrameStatus.NeedMore;
    }

    /// <summary>Forgets buffered bytes (a new connection starts clean).</summary>
    public void Reset()
    {
        _start = _end = 0;
    }

    public void Dispose()
    {
        if (_buffer.Length != 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Whether the frame at <c>_start</c> (if its header is here) can complete without moving.</summary>
    private bool PendingFitsInPlace()
    {
        if (_end - _start < HeaderSize)
        {
            return _buffer.Length - _start >= HeaderSize + _maxFrame;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start, HeaderSize));
        return length > (uint)_maxFrame || _buffer.Length - _start >= HeaderSize + (int)length;
    }
}
