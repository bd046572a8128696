using System.Buffers.Binary;
using Netdevd.Backends.Framing;
using Netdevd.Core.Clients;
using Netdevd.Fuzz.Support;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// Stream framing (4-byte big-endian length, then the frame) as stream and socket netdevs read
/// it: the bytes arrive in reads of the size the first byte picks, into a reassembler with the
/// default buffer or the smallest allowed (so compaction happens often), and must come out as
/// exactly the frames a plain reading of the stream gives, up to the first oversize header.
/// </summary>
public static class FramingHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }

        var readSize = 1 + (input[0] * 257);
        var small = (input[1] & 1) != 0;
        var stream = input[2..];
        using var reassembler = small
            ? new FrameReassembler(FrameReassembler.HeaderSize + NetClient.MaxFrameSize + 1)
            : new FrameReassembler();
        var expected = 0;
        var at = 0;
        var oversize = false;
        while (at < stream.Length && !oversize)
        {
            var space = reassembler.GetReadSpace();
            var n = Math.Min(Math.Min(readSize, space.Length), stream.Length - at);
            stream.Slice(at, n).CopyTo(space);
            reassembler.Commit(n);
            at += n;
            while (true)
            {
                var status = reassembler.TryTake(out var frame);
                if (status == FrameStatus.NeedMore)
                {
                    break;
                }

                if (status == FrameStatus.Oversize)
                {
                    oversize = true;
                    break;
                }

                expected = Expect(stream, expected, frame);
            }
        }

        // What is left must be exactly an incomplete frame, or the oversize header.
        var (length, next) = NextFrame(stream, expected);
        if (!oversize && next <= at && length > 0)
        {
            throw new FuzzFindingException($"a whole frame at offset {expected} was not handed out");
        }
    }

    private static int Expect(ReadOnlySpan<byte> stream, int offset, ReadOnlySpan<byte> frame)
    {
        var (length, next) = NextFrame(stream, offset);
        if (length != frame.Length || !stream.Slice(next - length, length).SequenceEqual(frame))
        {
            throw new FuzzFindingException($"frame at offset {offset}: got {frame.Length} bytes, the stream has {length}");
        }

        return next;
    }

    /// <summary>The next non-empty frame from <paramref name="offset"/>: its length and where it ends (past the end when incomplete; length -1 when oversize).</summary>
    private static (int Length, int Next) NextFrame(ReadOnlySpan<byte> stream, int offset)
    {
        while (offset + FrameReassembler.HeaderSize <= stream.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(stream[offset..]);
            if (length > NetClient.MaxFrameSize)
            {
                return (-1, int.MaxValue);
            }

            offset += FrameReassembler.HeaderSize;
            if (length != 0)
            {
                return ((int)length, offset + (int)length);
            }
        }

        return (0, int.MaxValue);
    }
}
