using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class TcpIcmpTests
{
    private static readonly TcpOptions SynOptions = new()
    {
        MaximumSegmentSize = 1460,
        SackPermitted = true,
        HasTimestamps = true,
        TimestampValue = 1,
        TimestampEchoReply = 0,
        WindowScale = 7,
    };

    [Fact]
    public void Tcp_deconstruct_and_options()
    {
        var b = Bytes.Hex(Golden.TcpSyn);
        Assert.True(Ipv4Packet.TryCreate(b.AsSpan(14), out var ip));
        Assert.True(TcpPacket.TryCreate(ip.Payload, out var t));
        Assert.Equal(40000, t.SourcePort);
        Assert.Equal(80, t.DestinationPort);
        Assert.Equal(0x01020304u, t.SequenceNumber);
        Assert.Equal(0u, t.AcknowledgmentNumber);
        Assert.Equal(40, t.HeaderLength);
        Assert.Equal(TcpFlags.Syn, t.Flags);
        Assert.True(t.Syn && !t.Ack && !t.Fin && !t.Rst && !t.Psh && !t.Urg);
        Assert.Equal(64240, t.WindowSize);
        Assert.Equal(0x9467, t.Checksum);
        Assert.True(t.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(0, t.Payload.Length);
        Assert.Equal(1, t.SegmentLength);
        Assert.True(TcpOptions.TryParse(t.Options, out var o));
        Assert.Equal(SynOptions, o);

        var pt = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, b).Extract<PacketDotNet.TcpPacket>();
        Assert.True(pt.ValidTcpChecksum);
        Assert.True(pt.Synchronize);
        Assert.Equal(0x01020304u, pt.SequenceNumber);
    }

    [Fact]
    public void Tcp_construct_into_a5_matches_golden()
    {
        var b = Bytes.Filled(14 + 20 + 40);
        var n = EthernetFrame.WriteHeader(b, Golden.HostMac, Golden.GuestMac, EtherType.Ipv4);
        n += Ipv4Packet.WriteHeader(b.AsSpan(n), Golden.Guest, Golden.Host, IpProtocol.Tcp, 40, 0x1234, 64, true);
        var h = TcpPacket.WriteHeader(b.AsSpan(n), 40000, 80, 0x01020304, 0, TcpFlags.Syn, 64240, SynOptions);
        Assert.Equal(40, h);
        Assert.Equal(20, SynOptions.EmittedLength);
        TcpPacket.CreateUnchecked(b.AsSpan(n, h)).FillChecksum(Golden.Guest, Golden.Host);
        Assert.Equal(Bytes.ToHex(Bytes.Hex(Golden.TcpSyn)), Bytes.ToHex(b));
    }

    [Theory]
    [InlineData(true, false, false, 4)]
    [InlineData(false, true, false, 4)]
    [InlineData(false, false, true, 12)]
    [InlineData(true, true, true, 16)]
    [InlineData(false, true, true, 12)]
    public void Tcp_options_emit_length_matches_and_round_trips(bool mss, bool sack, bool ts, int expected)
    {
        var o = new TcpOptions
        {
            MaximumSegmentSize = mss ? (ushort)536 : null,
            SackPermitted = sack,
            HasTimestamps = ts,
            TimestampValue = ts ? 0xDEADBEEF : 0,
            TimestampEchoReply = ts ? 5u : 0,
        };
        var b = Bytes.Filled(40);
        Assert.Equal(expected, o.EmittedLength);
        Assert.Equal(expected, o.Emit(b));
        Assert.True(TcpOptions.TryParse(b.AsSpan(0, expected), out var back));
        Assert.Equal(o, back);
    }

    [Fact]
    public void Tcp_options_edge_cases()
    {
        Assert.False(TcpOptions.TryParse(Bytes.Hex("0204"), out _)); // length runs out
        Assert.False(TcpOptions.TryParse(Bytes.Hex("02"), out _)); // kind without length
        Assert.False(TcpOptions.TryParse(Bytes.Hex("0201"), out _)); // length < 2
        Assert.True(TcpOptions.TryParse(Bytes.Hex("0303ff00"), out var o)); // shift clamped to 14
        Assert.Equal((byte)14, o.WindowScale);
        Assert.True(TcpOptions.TryParse(Bytes.Hex("fe0411110204ffff"), out o)); // unknown kind skipped
        Assert.Equal((ushort)0xFFFF, o.MaximumSegmentSize);
        Assert.True(TcpOptions.TryParse(Bytes.Hex("0205aabbcc000000"), out o)); // MSS with wrong length ignored
        Assert.Null(o.MaximumSegmentSize);
        Assert.True(TcpOptions.TryParse(Bytes.Hex("0101050a0000000100000002"), out o));
        Assert.Equal(1, o.SackBlockCount);
        Assert.True(TcpOptions.TryParse(Bytes.Hex("000204ffff"), out o)); // End stops
        Assert.Null(o.MaximumSegmentSize);
    }

    [Fact]
    public void Tcp_rejects_bad_data_offset()
    {
        Assert.False(TcpPacket.TryCreate(new byte[19], out _));
        var b = new byte[20];
        b[12] = 0x40;
        Assert.False(TcpPacket.TryCreate(b, out _));
        b[12] = 0x60;
        Assert.False(TcpPacket.TryCreate(b, out _));
        b[12] = 0x50;
        Assert.True(TcpPacket.TryCreate(b, out var t));
        Assert.Equal(0, t.Options.Length);
    }

    [Fact]
    public void Icmp_deconstruct_construct_and_cross_check()
    {
        var b = Bytes.Hex(Golden.IcmpEcho);
        Assert.True(Ipv4Packet.TryCreate(b.AsSpan(14), out var ip));
        Assert.True(IcmpPacket.TryCreate(ip.Payload, out var i));
        Assert.Equal(IcmpPacket.TypeEchoRequest, i.Header.Type);
        Assert.Equal(0, i.Header.Code);
        Assert.Equal(0x42, i.Header.Identifier);
        Assert.Equal(7, i.Header.SequenceNumber);
        Assert.True(i.IsEcho);
        Assert.True(i.VerifyChecksum());
        Assert.Equal("abcdefgh"u8.ToArray(), i.Header.Data.ToArray());
        var p = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, b).Extract<PacketDotNet.IcmpV4Packet>();
        Assert.Equal(0x42, p.Id);
        Assert.Equal(0x6621, p.Checksum);

        var c = Bytes.Filled(16);
        var ic = IcmpHeader.CreateUnchecked(c);
        ic.Type = IcmpPacket.TypeEchoRequest;
        ic.Code = 0;
        ic.Identifier = 0x42;
        ic.SequenceNumber = 7;
        "abcdefgh"u8.CopyTo(ic.Data);
        IcmpPacket.CreateUnchecked(c).FillChecksum();
        Assert.Equal(Bytes.ToHex(ip.Payload), Bytes.ToHex(c));
        Assert.False(IcmpPacket.TryCreate(new byte[7], out _));
    }
}
