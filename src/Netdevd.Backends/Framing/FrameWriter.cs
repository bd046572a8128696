using System.Buffers;
using System.Buffers.Binary;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.Framing;

/// <summary>
/// Send side of the stream framing: header and frame leave in one writev(2). A partial write
/// keeps the unwritten remainder in a buffer of the writer's own, so the byte stream stays
/// intact whatever the caller does with later frames (QEMU keeps an offset into a frame it
/// expects to be offered again; copying the rare remainder is sturdier and costs nothing per
/// frame). Within a sender's batch, <see cref="Append"/> adds frames to that same buffer and
/// <see cref="FlushPending"/> sends them all with one write(2) at the batch's end: the bytes on
/// the wire are the same, the system calls are per batch. Not thread-safe: the owner serialises calls.
/// </summary>
internal sealed class FrameWriter : IDisposable
{
    private readonly byte[] _header = new byte[FrameReassembler.HeaderSize];
    private byte[] _pending;
    private int _pendingStart;
    private int _pendingEnd;

    /// <summary>
    /// Room for coalesced frames: a 64 KiB super-frame cut into MTU-sized frames fits several
    /// times over, and a full buffer is written at once rather than growing (back-pressure stays bounded).
    /// </summary>
    public const int DefaultCapacity = 256 * 1024;

    /// <summary>Frames at least this long are written at once, behind what is held, rather than copied.</summary>
    public const int DirectWriteSize = 16 * 1024;

    public FrameWriter(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, FrameReassembler.HeaderSize + NetClient.MaxFrameSize);
        _pending = ArrayPool<byte>.Shared.Rent(capacity);
    }

    /// <summary>Bytes held (appended frames or a partial write's remainder) and not yet in the socket.</summary>
    public int PendingBytes => _pendingEnd - _pendingStart;

    /// <summary>System calls that wrote to the socket (writev or write), for tests and counters.</summary>
    public long WriteCalls { get; private set; }

    /// <summary>Whether a remainder of an earlier frame still waits for the socket.</summary>
    public bool HasPending => _pendingEnd > _pendingStart;

    /// <summary>Frames lost to write errors.</summary>
    public long Failed { get; private set; }

    /// <summary>Writes one frame with its header to <paramref name="fd"/> (a non-blocking socket).</summary>
    public WriteOutcome Write(int fd, ReadOnlySpan<byte> frame)
    {
        if (HasPending)
        {
            var flushed = FlushPending(fd);
            if (flushed != WriteOutcome.Written)
            {
                return flushed == WriteOutcome.Failed ? Fail() : WriteOutcome.Blocked;
            }
        }

        BinaryPrimitives.WriteUInt32BigEndian(_header, (uint)frame.Length);
        var total = FrameReassembler.HeaderSize + frame.Length;
        nint n;
        do
        {
            WriteCalls++;
            n = Libc.WriteVOrErrno(fd, _header, frame);
        }
        while (n == -Errno.EINTR);

        if (n < 0)
        {
            return n == -Errno.EAGAIN ? WriteOutcome.Blocked : Fail();
        }

        if (n == total)
        {
            return WriteOutcome.Written;
        }

        // Keep what did not go out; the header part first if even that was cut.
        var written = (int)n;
        _pendingStart = 0;
        _pendingEnd = total - written;
        var into = _pending.AsSpan();
        if (written < FrameReassembler.HeaderSize)
        {
            _header.AsSpan(written).CopyTo(into);
            into = into[(FrameReassembler.HeaderSize - written)..];
            frame.CopyTo(into);
        }
        else
        {
            frame[(written - FrameReassembler.HeaderSize)..].CopyTo(into);
        }

        return WriteOutcome.Partial;
    }

    /// <summary>
    /// Takes one frame with its header into the held bytes without writing (the caller writes
    /// them with <see cref="FlushPending"/> when its sender's batch ends). When the buffer cannot
    /// take the frame, what it holds is written first; <see cref="WriteOutcome.Blocked"/> when
    /// even then there is no room (the socket is full: offer the frame again later).
    /// </summary>
    public WriteOutcome Append(int fd, ReadOnlySpan<byte> frame)
    {
        // A large frame is its own batch: copying it would cost more than the call it saves.
        if (frame.Length >= DirectWriteSize)
        {
            return Write(fd, frame);
        }

        var need = FrameReassembler.HeaderSize + frame.Length;
        if (_pending.Length - _pendingEnd < need)
        {
            if (HasPending)
            {
                var flushed = FlushPending(fd);
                if (flushed == WriteOutcome.Failed)
                {
                    return Fail();
                }

                Compact();
                if (_pending.Length - _pendingEnd < need)
                {
                    return WriteOutcome.Blocked;
                }
            }
            else
            {
                _pendingStart = _pendingEnd = 0;
            }
        }

        var into = _pending.AsSpan(_pendingEnd, need);
        BinaryPrimitives.WriteUInt32BigEndian(into, (uint)frame.Length);
        frame.CopyTo(into[FrameReassembler.HeaderSize..]);
        _pendingEnd += need;
        return WriteOutcome.Written;
    }

    /// <summary>
    /// Pushes the held remainder out. <see cref="WriteOutcome.Written"/> when nothing is left,
    /// <see cref="WriteOutcome.Blocked"/> when the socket is full again.
    /// </summary>
    public WriteOutcome FlushPending(int fd)
    {
        while (HasPending)
        {
            WriteCalls++;
            var n = Libc.Write(fd, _pending.AsSpan(_pendingStart, _pendingEnd - _pendingStart));
            if (n < 0)
            {
                var errno = Errno.Last;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno == Errno.EAGAIN)
                {
                    return WriteOutcome.Blocked;
                }

                Reset();
                return WriteOutcome.Failed;
            }

            _pendingStart += (int)n;
        }

        _pendingStart = _pendingEnd = 0;
        return WriteOutcome.Written;
    }

    /// <summary>Drops any held remainder (the connection is gone).</summary>
    public void Reset()
    {
        _pendingStart = _pendingEnd = 0;
    }

    public void Dispose()
    {
        if (_pending.Length != 0)
        {
            ArrayPool<byte>.Shared.Return(_pending);
            _pending = [];
        }
    }

    /// <summary>Moves the held bytes to the buffer's start, making room behind them.</summary>
    private void Compact()
    {
        if (_pendingStart == 0)
        {
            return;
        }

        var count = _pendingEnd - _pendingStart;
        _pending.AsSpan(_pendingStart, count).CopyTo(_pending);
        _pendingStart = 0;
        _pendingEnd = count;
    }

    private WriteOutcome Fail()
    {
        Failed++;
        return WriteOutcome.Failed;
    }
}
