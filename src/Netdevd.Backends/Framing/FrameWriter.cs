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
/// frame). Not thread-safe: the owner serialises calls.
/// </summary>
internal sealed class FrameWriter : IDisposable
{
    private readonly byte[] _header = new byte[FrameReassembler.HeaderSize];
    private byte[] _pending;
    private int _pendingStart;
    private int _pendingEnd;

    public FrameWriter()
    {
        _pending = ArrayPool<byte>.Shared.Rent(FrameReassembler.HeaderSize + NetClient.MaxFrameSize);
    }

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
            n = Libc.WriteV(fd, _header, frame);
        }
        while (n < 0 && Errno.Last == Errno.EINTR);

        if (n < 0)
        {
            return Errno.Last == Errno.EAGAIN ? WriteOutcome.Blocked : Fail();
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
    /// Pushes the held remainder out. <see cref="WriteOutcome.Written"/> when nothing is left,
    /// <see cref="WriteOutcome.Blocked"/> when the socket is full again.
    /// </summary>
    public WriteOutcome FlushPending(int fd)
    {
        while (HasPending)
        {
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

    private WriteOutcome Fail()
    {
        Failed++;
        return WriteOutcome.Failed;
    }
}
