using System.Buffers.Binary;
using Netdevd.Backends.Framing;
using Netdevd.Core.Clients;

namespace Netdevd.Backends.Tests.Framing;

public sealed class FrameReassemblerTests
{
    [Fact]
    public void Many_frames_in_one_read_come_out_in_order()
    {
        using var r = new FrameReassembler();
        var frames = Enumerable.Range(0, 500).Select(i => Frame(60 + (i % 7), i)).ToList();
        var got = Feed(r, Wire(frames), chunk: int.MaxValue);
        Assert.Equal(frames.Count, got.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(frames[i], got[i]);
        }
    }

    [Fact]
    public void Split_at_every_byte_gives_the_same_frames()
    {
        var frames = new List<byte[]> { Frame(60, 1), Frame(1, 2), Frame(1514, 3), Frame(300, 4) };
        var wire = Wire(frames);
        for (var split = 0; split <= wire.Length; split++)
        {
            using var r = new FrameReassembler();
            var got = new List<byte[]>();
            Push(r, wire.AsSpan(0, split), got);
            Push(r, wire.AsSpan(split), got);
            Assert.Equal(frames.Count, got.Count);
            for (var i = 0; i < frames.Count; i++)
            {
                Assert.Equal(frames[i], got[i]);
            }

            Assert.Equal(0, r.Buffered);
        }
    }

    [Fact]
    public void Byte_by_byte_largest_frame_arrives_whole()
    {
        using var r = new FrameReassembler();
        var big = Frame(NetClient.MaxFrameSize, 9);
        var got = Feed(r, Wire([big, Frame(60, 10)]), chunk: 1);
        Assert.Equal(2, got.Count);
        Assert.Equal(big, got[0]);
    }

    [Fact]
    public void Random_chunking_of_a_long_stream_keeps_every_frame()
    {
        var rng = new Random(1234);
        var frames = Enumerable.Range(0, 3000).Select(i => Frame(rng.Next(1, 9100) + (i % 50 == 0 ? 56000 : 0), i)).ToList();
        var wire = Wire(frames);
        using var r = new FrameReassembler();
        var got = new List<byte[]>();
        var at = 0;
        while (at < wire.Length)
        {
            var n = Math.Min(rng.Next(1, 200_000), wire.Length - at);
            Push(r, wire.AsSpan(at, n), got);
            at += n;
        }

        Assert.Equal(frames.Count, got.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(frames[i], got[i]);
        }
    }

    [Fact]
    public void Zero_length_frames_are_skipped_and_counted()
    {
        using var r = new FrameReassembler();
        var wire = Wire([Frame(0, 0), Frame(60, 1), Frame(0, 0), Frame(0, 0), Frame(61, 2)]);
        var got = Feed(r, wire, chunk: 3);
        Assert.Equal(2, got.Count);
        Assert.Equal(3, r.ZeroLengthFrames);
    }

    [Theory]
    [InlineData(NetClient.MaxFrameSize + 1)]
    [InlineData(0x7fffffff)]
    [InlineData(0xffffffff)]
    public void Oversize_header_is_reported_before_its_payload(uint length)
    {
        using var r = new FrameReassembler();
        var wire = new byte[4 + 60 + 4];
        BinaryPrimitives.WriteUInt32BigEndian(wire, 60);
        BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(64), length);
        var space = r.GetReadSpace();
        wire.CopyTo(space);
        r.Commit(wire.Length);
        Assert.Equal(FrameStatus.Frame, r.TryTake(out var first));
        Assert.Equal(60, first.Length);
        Assert.Equal(FrameStatus.Oversize, r.TryTake(out _));
        Assert.Equal(length, r.OversizeLength);
    }

    [Fact]
    public void Largest_frame_is_accepted()
    {
        using var r = new FrameReassembler();
        var got = Feed(r, Wire([Frame(NetClient.MaxFrameSize, 3)]), chunk: 50_000);
        Assert.Single(got);
    }

    [Fact]
    public void Half_a_header_waits_for_more()
    {
        using var r = new FrameReassembler();
        var space = r.GetReadSpace();
        space[0] = 0;
        space[1] = 0;
        r.Commit(2);
        Assert.Equal(FrameStatus.NeedMore, r.TryTake(out _));
        Assert.Equal(2, r.Buffered);
    }

    internal static byte[] Frame(int length, int seq)
    {
        var f = new byte[length];
        for (var i = 0; i < length; i++)
        {
            f[i] = (byte)((i * 31) + seq);
        }

        return f;
    }

    internal static byte[] Wire(IEnumerable<byte[]> frames)
    {
        var ms = new MemoryStream();
        Span<byte> h = stackalloc byte[4];
        foreach (var f in frames)
        {
            BinaryPrimitives.WriteUInt32BigEndian(h, (uint)f.Length);
            ms.Write(h);
            ms.Write(f);
        }

        return ms.ToArray();
    }

    private static List<byte[]> Feed(FrameReassembler r, byte[] wire, int chunk)
    {
        var got = new List<byte[]>();
        for (var at = 0; at < wire.Length; at += chunk)
        {
            Push(r, wire.AsSpan(at, Math.Min(chunk, wire.Length - at)), got);
        }

        return got;
    }

    /// <summary>Copies <paramref name="data"/> in as reads would, taking frames whenever the space runs out.</summary>
    private static void Push(FrameReassembler r, ReadOnlySpan<byte> data, List<byte[]> got)
    {
        do
        {
            var space = r.GetReadSpace();
            var n = Math.Min(space.Length, data.Length);
            data[..n].CopyTo(space);
            r.Commit(n);
            data = data[n..];
            FrameStatus s;
            while ((s = r.TryTake(out var frame)) == FrameStatus.Frame)
            {
                got.Add(frame.ToArray());
            }

            Assert.Equal(FrameStatus.NeedMore, s);
        }
        while (!data.IsEmpty);
    }
}
