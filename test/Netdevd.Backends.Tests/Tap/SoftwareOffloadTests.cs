using Netdevd.Backends.VirtioNet;
using PacketDotNet;
using VirtioNetHeader = Netdevd.Wire.VirtioNetHeader;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>Checksum completion and GSO segmentation, checked with PacketDotNet as an independent decoder.</summary>
public sealed class SoftwareOffloadTests
{
    private readonly byte[] _scratch = new byte[70000];

    // Found by fuzzing (virtio-offload): a GSO frame whose headers are shorter than the ones
    // segmentation rewrites (IPv4 IHL below 5, a csum_start inside the IP header, a TCP data
    // offset below 5) made Segment write past the segment: ArgumentOutOfRangeException out of
    // the tap's reader instead of a counted drop.
    [Theory]
    [InlineData(false, "ihl")]
    [InlineData(false, "csum_start")]
    [InlineData(true, "csum_start")]
    [InlineData(false, "data_offset")]
    [InlineData(true, "data_offset")]
    public void A_gso_frame_with_headers_too_short_to_rewrite_is_dropped(bool ipv6, string field)
    {
        // Segments of 1000 bytes with a short last one (6 bytes past a 4-byte TCP "header"), so a short header is overrun.
        var frame = OffloadFrames.Tcp(ipv6, OffloadFrames.Payload(1990), 1, true);
        var l4 = OffloadFrames.L4Offset(ipv6);
        var csumStart = l4;
        var flags = VirtioNetHeader.FlagNeedsCsum;
        switch (field)
        {
            case "ihl":
                // Without NEEDS_CSUM the IHL alone says where TCP starts.
                frame[14] = 0x41;
                flags = 0;
                break;
            case "csum_start":
                csumStart = 14 + 8;
                break;
            default:
                frame[l4 + 12] = 0x10;
                break;
        }

        var header = new VirtioNetHeader(flags, ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4, (ushort)(l4 + 20), 1000, (ushort)csumStart, 16);
        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Dropped, SoftwareOffload.Resolve(header, frame, _scratch, sink));
        Assert.Empty(sink.Frames);
    }

    [Fact]
    public void Header_round_trips_little_endian()
    {
        var h = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4 | VirtioNetHeader.GsoEcn, 66, 1448, 34, 16);
        var bytes = new byte[12];
        h.Write(bytes);
        Assert.Equal(new byte[] { 1, 0x81, 66, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0 }, bytes);
        var back = VirtioNetHeader.Read(bytes);
        Assert.Equal(h, back);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, back.GsoKind);
        Assert.True(back.IsGso);
        Assert.True(back.NeedsChecksum);
    }

    [Fact]
    public void Plain_frame_passes_unchanged()
    {
        var frame = OffloadFrames.Tcp(false, OffloadFrames.Payload(100), 1, true);
        var copy = frame.ToArray();
        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Unchanged, SoftwareOffload.Resolve(default, frame, _scratch, sink));
        Assert.Equal(copy, Assert.Single(sink.Frames));
    }

    [Theory]
    [InlineData(false, 6)]
    [InlineData(true, 6)]
    [InlineData(false, 17)]
    [InlineData(true, 17)]
    public void Partial_checksum_is_completed(bool ipv6, byte protocol)
    {
        var tcp = protocol == 6;
        var frame = tcp ? OffloadFrames.Tcp(ipv6, OffloadFrames.Payload(333), 99, true) : OffloadFrames.Udp(ipv6, OffloadFrames.Payload(333));
        var l4 = OffloadFrames.L4Offset(ipv6);
        var field = tcp ? 16 : 6;
        var expected = frame.ToArray();
        OffloadFrames.MakePartial(frame, ipv6, l4, field, protocol);
        Assert.NotEqual(expected, frame);

        var header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, 0, 0, 0, (ushort)l4, (ushort)field);
        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.ChecksumCompleted, SoftwareOffload.Resolve(header, frame, _scratch, sink));
        var packet = Packet.ParsePacket(LinkLayers.Ethernet, Assert.Single(sink.Frames));
        Assert.True(tcp ? packet.Extract<TcpPacket>().ValidChecksum : packet.Extract<UdpPacket>().ValidChecksum);
        Assert.Equal(expected, sink.Frames[0]);
    }

    [Theory]
    [InlineData(false, 1448, 10000)]
    [InlineData(true, 1428, 10000)]
    [InlineData(false, 1448, 1448)]
    [InlineData(false, 8948, 65000)]
    [InlineData(true, 1000, 2001)]
    public void Tcp_super_frame_is_segmented(bool ipv6, int mss, int length)
    {
        var payload = OffloadFrames.Payload(length);
        const uint seq = 0xfffff000; // wraps within the burst
        var frame = OffloadFrames.Tcp(ipv6, payload, seq, push: true, fin: true, cwr: true);
        var l4 = OffloadFrames.L4Offset(ipv6);
        OffloadFrames.MakePartial(frame, ipv6, l4, 16, 6);
        var header = new VirtioNetHeader(
            VirtioNetHeader.FlagNeedsCsum,
            ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4,
            (ushort)(l4 + 20),
            (ushort)mss,
            (ushort)l4,
            16);

        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Segmented, SoftwareOffload.Resolve(header, frame, _scratch, sink));
        Assert.Equal((length + mss - 1) / mss, sink.Frames.Count);

        var joined = new List<byte>();
        for (var i = 0; i < sink.Frames.Count; i++)
        {
            var packet = Packet.ParsePacket(LinkLayers.Ethernet, sink.Frames[i]);
            var tcp = packet.Extract<TcpPacket>();
            Assert.NotNull(tcp);
            Assert.True(tcp.ValidChecksum, $"segment {i} TCP checksum");
            if (packet.Extract<IPv4Packet>() is { } v4)
            {
                Assert.True(v4.ValidIPChecksum, $"segment {i} IPv4 checksum");
                Assert.Equal(sink.Frames[i].Length - 14, v4.TotalLength);
                Assert.Equal(1000 + i, v4.Id);
            }
            else
            {
                Assert.Equal(sink.Frames[i].Length - 14 - 40, packet.Extract<IPv6Packet>().PayloadLength);
            }

            var last = i == sink.Frames.Count - 1;
            Assert.Equal(unchecked(seq + (uint)(i * mss)), tcp.SequenceNumber);
            Assert.Equal(last, tcp.Push);
            Assert.Equal(last, tcp.Finished);
            Assert.Equal(i == 0, tcp.CongestionWindowReduced);
            Assert.True(tcp.PayloadData.Length <= mss);
            joined.AddRange(tcp.PayloadData);
        }

        Assert.Equal(payload, joined.ToArray());
    }

    /// <summary>An 802.1Q-tagged super-frame segments exactly as the untagged one, each segment keeping the tag.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Vlan_tagged_super_frame_is_segmented_like_the_untagged_one(bool ipv6)
    {
        var plain = OffloadFrames.Tcp(ipv6, OffloadFrames.Payload(5000), 77, push: true);
        var l4 = OffloadFrames.L4Offset(ipv6);
        OffloadFrames.MakePartial(plain, ipv6, l4, 16, 6);
        var tagged = new byte[plain.Length + 4];
        plain.AsSpan(0, 12).CopyTo(tagged);
        tagged[12] = 0x81;
        tagged[14] = 0x20; // PCP 1, VLAN 100
        tagged[15] = 100;
        plain.AsSpan(12).CopyTo(tagged.AsSpan(16));
        var kind = ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4;

        var plainSink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Segmented, SoftwareOffload.Resolve(new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, kind, (ushort)(l4 + 20), 1400, (ushort)l4, 16), plain, _scratch, plainSink));
        var taggedSink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Segmented, SoftwareOffload.Resolve(new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, kind, (ushort)(l4 + 24), 1400, (ushort)(l4 + 4), 16), tagged, _scratch, taggedSink));

        Assert.Equal(4, taggedSink.Frames.Count);
        Assert.Equal(plainSink.Frames.Count, taggedSink.Frames.Count);
        for (var i = 0; i < plainSink.Frames.Count; i++)
        {
            var segment = taggedSink.Frames[i];
            Assert.Equal(tagged.AsSpan(0, 16).ToArray(), segment.AsSpan(0, 16).ToArray());
            Assert.Equal(plainSink.Frames[i].AsSpan(12).ToArray(), segment.AsSpan(16).ToArray());
            Assert.True(Packet.ParsePacket(LinkLayers.Ethernet, plainSink.Frames[i]).Extract<TcpPacket>().ValidChecksum);
        }
    }

    [Fact]
    public void Udp_l4_super_frame_is_segmented()
    {
        var payload = OffloadFrames.Payload(5000);
        var frame = OffloadFrames.Udp(false, payload);
        var l4 = OffloadFrames.L4Offset(false);
        OffloadFrames.MakePartial(frame, false, l4, 6, 17);
        var header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoUdpL4, (ushort)(l4 + 8), 1400, (ushort)l4, 6);
        var sink = new CollectingSink();
        Assert.Equal(OffloadOutcome.Segmented, SoftwareOffload.Resolve(header, frame, _scratch, sink));
        Assert.Equal(4, sink.Frames.Count);
        var joined = new List<byte>();
        foreach (var f in sink.Frames)
        {
            var udp = Packet.ParsePacket(LinkLayers.Ethernet, f).Extract<UdpPacket>();
            Assert.True(udp.ValidChecksum);
            Assert.Equal(f.Length - l4, udp.Length);
            joined.AddRange(udp.PayloadData);
        }

        Assert.Equal(payload, joined.ToArray());
    }

    [Fact]
    public void Ufo_and_malformed_frames_are_dropped()
    {
        var frame = OffloadFrames.Udp(false, OffloadFrames.Payload(3000));
        var sink = new CollectingSink();
        var ufo = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoUdp, 42, 1400, 34, 6);
        Assert.Equal(OffloadOutcome.Dropped, SoftwareOffload.Resolve(ufo, frame, _scratch, sink));

        var shortFrame = new byte[20];
        var tso = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4, 54, 1448, 34, 16);
        Assert.Equal(OffloadOutcome.Dropped, SoftwareOffload.Resolve(tso, shortFrame, _scratch, sink));

        var badOffsets = new VirtioNetHeader(VirtioNetHeader.FlagNeedsCsum, 0, 0, 0, 5000, 16);
        Assert.Equal(OffloadOutcome.Dropped, SoftwareOffload.Resolve(badOffsets, frame, _scratch, sink));
        Assert.Empty(sink.Frames);
    }
}
