using System.Buffers.Binary;
using Netdevd.Backends.VirtioNet;
using Netdevd.Wire;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>Software GRO: merged frames equal the concatenation and segment back to the originals.</summary>
public sealed class TcpCoalescerTests
{
    private const int Mss = 1448;

    [Fact]
    public void A_run_merges_into_one_gso_frame_that_segments_back_to_the_originals()
    {
        var segments = Run(count: 10, lastLength: 500, pushOnLast: true);
        var gro = new TcpCoalescer();
        foreach (var s in segments)
        {
            Assert.Equal(CoalesceResult.Taken, gro.Offer(s));
        }

        var held = gro.Held().ToArray();
        var header = VirtioNetHeader.Read(held);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, header.GsoType);
        Assert.True(header.NeedsChecksum);
        Assert.Equal(Mss, header.GsoSize);
        Assert.Equal(34, header.CsumStart);
        Assert.Equal(16, header.CsumOffset);

        // The merged frame: the first segment's headers, then every payload in order.
        var frame = held.AsSpan(12).ToArray();
        var headers = segments[0].Length - Mss;
        Assert.Equal(segments.Sum(s => s.Length - headers) + headers, frame.Length);
        var at = headers;
        foreach (var s in segments)
        {
            Assert.True(frame.AsSpan(at, s.Length - headers).SequenceEqual(s.AsSpan(headers)));
            at += s.Length - headers;
        }

        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Segmented, SoftwareOffload.Resolve(header, frame, new byte[70000], sink));
        Assert.Equal(segments.Count, sink.Frames.Count);
        for (var i = 0; i < segments.Count; i++)
        {
            Assert.Equal(segments[i], sink.Frames[i]);
        }

        gro.Clear();
        Assert.False(gro.HasHeld);
        Assert.Equal(1, gro.Merged);
    }

    [Fact]
    public void An_ipv6_run_merges_into_one_gso_tcpv6_frame_that_segments_back_to_the_originals()
    {
        // The user netdev's IPv6 output towards a tap: without this every 1440-byte segment was
        // its own write(2), and IPv6 host->guest ran at a fifth of IPv4's rate.
        var segments = Run6(count: 8, lastLength: 300);
        var gro = new TcpCoalescer();
        foreach (var s in segments)
        {
            Assert.Equal(CoalesceResult.Taken, gro.Offer(s));
        }

        var held = gro.Held().ToArray();
        var header = VirtioNetHeader.Read(held);
        Assert.Equal(VirtioNetHeader.GsoTcpV6, header.GsoType);
        Assert.True(header.NeedsChecksum);
        Assert.Equal(Mss6, header.GsoSize);
        Assert.Equal(54, header.CsumStart);
        Assert.Equal(16, header.CsumOffset);

        var frame = held.AsSpan(12).ToArray();
        var headers = segments[0].Length - Mss6;
        Assert.Equal(frame.Length - 54, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(18)));
        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Segmented, SoftwareOffload.Resolve(header, frame, new byte[70000], sink));
        Assert.Equal(segments.Count, sink.Frames.Count);
        for (var i = 0; i < segments.Count; i++)
        {
            Assert.Equal(segments[i], sink.Frames[i]);
        }

        // A corrupt IPv6 segment is not merged, and another flow label starts a new run.
        var bad = Run6(count: 9, lastLength: Mss6)[8];
        bad[^1] ^= 0xff;
        Assert.Equal(CoalesceResult.NotCandidate, gro.Offer(bad));
        gro.Clear();
        var fresh = Run6(count: 2, lastLength: Mss6);
        Assert.Equal(CoalesceResult.Taken, gro.Offer(fresh[0]));
        fresh[1][15] ^= 0x01; // flow label
        Assert.Equal(CoalesceResult.FlushFirst, gro.Offer(fresh[1]));
        Assert.True(headers > 0);
    }

    [Fact]
    public void A_single_segment_goes_out_unchanged_behind_a_zero_header()
    {
        var segment = Run(count: 1, lastLength: Mss, pushOnLast: false)[0];
        var gro = new TcpCoalescer();
        Assert.Equal(CoalesceResult.Taken, gro.Offer(segment));
        var held = gro.Held();
        Assert.True(held[..12].IndexOfAnyExcept((byte)0) < 0);
        Assert.True(held[12..].SequenceEqual(segment));
    }

    [Fact]
    public void Segments_with_their_checksum_left_to_the_tap_merge_and_a_single_one_keeps_needs_csum()
    {
        // The user netdev behind a vnet-header link: NEEDS_CSUM, the field holds the pseudo-header sum.
        var segments = Run(count: 4, lastLength: Mss, pushOnLast: false);
        foreach (var f in segments)
        {
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(50), Checksum.Fold(
                Checksum.PseudoHeader(Ipv4Address.Read(f.AsSpan(26)), Ipv4Address.Read(f.AsSpan(30)), IpProtocol.Tcp, f.Length - 34)));
        }

        var gro = new TcpCoalescer();
        Assert.Equal(CoalesceResult.NotCandidate, gro.Offer(segments[0]));
        Assert.Equal(CoalesceResult.Taken, gro.Offer(segments[0], partialChecksumStart: 34));
        var single = gro.Held().ToArray();
        var header = VirtioNetHeader.Read(single);
        Assert.Equal(VirtioNetHeader.FlagNeedsCsum, header.Flags);
        Assert.False(header.IsGso);
        Assert.Equal(34, header.CsumStart);
        Assert.Equal(16, header.CsumOffset);
        Assert.True(single.AsSpan(12).SequenceEqual(segments[0]));

        foreach (var f in segments.Skip(1))
        {
            Assert.Equal(CoalesceResult.Taken, gro.Offer(f, partialChecksumStart: 34));
        }

        var held = gro.Held().ToArray();
        header = VirtioNetHeader.Read(held);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, header.GsoType);
        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Segmented, SoftwareOffload.Resolve(header, held.AsSpan(12).ToArray(), new byte[70000], sink));
        Assert.Equal(segments.Count, sink.Frames.Count);
        for (var i = 0; i < segments.Count; i++)
        {
            FixTcpChecksum(segments[i]);
            Assert.Equal(segments[i], sink.Frames[i]);
        }
    }

    [Fact]
    public void Gaps_other_flows_and_bad_checksums_are_not_merged()
    {
        var segments = Run(count: 3, lastLength: Mss, pushOnLast: false);
        var gro = new TcpCoalescer();
        Assert.Equal(CoalesceResult.Taken, gro.Offer(segments[0]));

        // A gap in the sequence: write the run first.
        Assert.Equal(CoalesceResult.FlushFirst, gro.Offer(segments[2]));

        // Another flow (other port).
        var other = OffloadFrames.Tcp(false, OffloadFrames.Payload(Mss), 1000 + Mss, push: false);
        BinaryPrimitives.WriteUInt16BigEndian(other.AsSpan(34), 40001);
        FixTcpChecksum(other);
        Assert.Equal(CoalesceResult.FlushFirst, gro.Offer(other));

        // A corrupt payload is never merged (the receiver must see the bad checksum).
        var bad = (byte[])segments[1].Clone();
        bad[^1] ^= 0xff;
        Assert.Equal(CoalesceResult.NotCandidate, gro.Offer(bad));

        // SYN/FIN/RST and UDP are left alone; an IPv6 segment does not continue an IPv4 run.
        Assert.Equal(CoalesceResult.NotCandidate, gro.Offer(OffloadFrames.Tcp(false, OffloadFrames.Payload(100), 1000 + Mss, push: false, fin: true)));
        Assert.Equal(CoalesceResult.NotCandidate, gro.Offer(OffloadFrames.Udp(false, OffloadFrames.Payload(100))));
        Assert.Equal(CoalesceResult.FlushFirst, gro.Offer(OffloadFrames.Tcp(true, OffloadFrames.Payload(100), 1000 + Mss, push: false)));

        Assert.Equal(CoalesceResult.Taken, gro.Offer(segments[1]));
        Assert.Equal(2, gro.HeldSegments);
    }

    [Fact]
    public void Push_and_short_segments_end_a_run()
    {
        var segments = Run(count: 3, lastLength: Mss, pushOnLast: false);
        var gro = new TcpCoalescer();
        var shortOne = Run(count: 2, lastLength: 100, pushOnLast: false)[1];
        Assert.Equal(CoalesceResult.Taken, gro.Offer(segments[0]));
        Assert.Equal(CoalesceResult.Taken, gro.Offer(shortOne));
        var next = OffloadFrames.Tcp(false, OffloadFrames.Payload(Mss), 1000 + Mss + 100, push: false);
        Assert.Equal(CoalesceResult.FlushFirst, gro.Offer(next));
    }

    /// <summary>Segments of one flow as a sender's TSO would cut them: DF off, ids counting up from 1000.</summary>
    private static List<byte[]> Run(int count, int lastLength, bool pushOnLast)
    {
        var list = new List<byte[]>();
        var seq = 1000u;
        for (var i = 0; i < count; i++)
        {
            var last = i == count - 1;
            var payload = OffloadFrames.Payload(last ? lastLength : Mss);
            payload[0] = (byte)i;
            var f = OffloadFrames.Tcp(false, payload, seq, push: last && pushOnLast);
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(18), (ushort)(1000 + i));
            FixIpChecksum(f);
            FixTcpChecksum(f);
            list.Add(f);
            seq += (uint)payload.Length;
        }

        return list;
    }

    private const int Mss6 = 1440;

    /// <summary>IPv6 segments of one flow, payloads numbered, PSH on the last.</summary>
    private static List<byte[]> Run6(int count, int lastLength)
    {
        var list = new List<byte[]>();
        var seq = 5000u;
        for (var i = 0; i < count; i++)
        {
            var last = i == count - 1;
            var payload = OffloadFrames.Payload(last ? lastLength : Mss6);
            payload[0] = (byte)i;
            var f = OffloadFrames.Tcp(true, payload, seq, push: last);
            list.Add(f);
            seq += (uint)payload.Length;
        }

        return list;
    }

    private static void FixIpChecksum(byte[] f)
    {
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(24), 0);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(24), Checksum.Compute(f.AsSpan(14, 20)));
    }

    private static void FixTcpChecksum(byte[] f)
    {
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(50), 0);
        var sum = Checksum.PseudoHeader(Ipv4Address.Read(f.AsSpan(26)), Ipv4Address.Read(f.AsSpan(30)), IpProtocol.Tcp, f.Length - 34);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(50), Checksum.Finish(Checksum.Add(sum, f.AsSpan(34))));
    }
}
