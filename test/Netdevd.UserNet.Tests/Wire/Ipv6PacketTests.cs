using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class Ipv6PacketTests
{
    private static readonly Ipv6Address Guest = Ipv6Address.Read(Bytes.Hex("fec0 0000 0000 0000 5054 00ff fe12 3456"));
    private static readonly Ipv6Address Router = Ipv6Address.Read(Bytes.Hex("fec0 0000 0000 0000 0000 0000 0000 0002"));
    private static readonly MacAddress GuestMac = MacAddress.Create(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
    private static readonly MacAddress RouterMac = MacAddress.Create(0x52, 0x56, 0x00, 0x00, 0x00, 0x02);

    [Fact]
    public void Echo_request_constructed_here_decodes_in_packetdotnet_with_a_valid_checksum()
    {
        var b = Bytes.Filled(14 + 40 + 8 + 4);
        var n = EthernetFrame.WriteHeader(b, RouterMac, GuestMac, EtherType.Ipv6);
        n += Ipv6Packet.WriteHeader(b.AsSpan(n), Guest, Router, IpProtocol.Icmpv6, 12, 64);
        var icmp = Icmpv6Packet.CreateUnchecked(b.AsSpan(n, 12));
        var header = icmp.Header;
        header.Type = Icmpv6Packet.TypeEchoRequest;
        header.Code = 0;
        header.Identifier = 0x1234;
        header.SequenceNumber = 7;
        b.AsSpan(n + 8, 4).Fill(0x61);
        icmp.FillChecksum(Guest, Router);

        Assert.Equal(0, NaiveChecksum(Guest, Router, 58, b.AsSpan(n, 12)));
        Assert.True(icmp.VerifyChecksum(Guest, Router));
        Assert.False(icmp.VerifyChecksum(Router, Guest with { Low = Guest.Low + 1 }));

        var p = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, b);
        var ip6 = p.Extract<PacketDotNet.IPv6Packet>();
        Assert.Equal(Guest.ToIPAddress(), ip6.SourceAddress);
        Assert.Equal(Router.ToIPAddress(), ip6.DestinationAddress);
        Assert.Equal(12, ip6.PayloadLength);
        Assert.Equal(64, ip6.HopLimit);
        var pi = p.Extract<PacketDotNet.IcmpV6Packet>();
        Assert.Equal(PacketDotNet.IcmpV6Type.EchoRequest, pi.Type);
        Assert.Equal(header.Checksum, pi.Checksum);
    }

    [Fact]
    public void Header_fields_read_back()
    {
        var b = Bytes.Hex("6abcdef1 0008 3a 40" + "fec000000000000050540 0fffe123456".Replace(" ", string.Empty, StringComparison.Ordinal) +
                          "fec00000000000000000000000000002" + "8000000012340001" + "ffff");
        Assert.True(Ipv6Packet.TryCreate(b, out var ip));
        Assert.Equal(6, ip.Version);
        Assert.Equal(0xAB, ip.TrafficClass);
        Assert.Equal(0xCDEF1u, ip.FlowLabel);
        Assert.Equal(8, ip.PayloadLength);
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        Assert.Equal(64, ip.HopLimit);
        Assert.Equal(Guest, ip.Source);
        Assert.Equal(Router, ip.Destination);
        Assert.Equal(8, ip.Payload.Length);
        Assert.Equal(48, ip.Bytes.Length); // the two padding bytes are not part of the datagram
        ip.TrafficClass = 0x12;
        ip.FlowLabel = 0x34567;
        Assert.Equal("61234567", Bytes.ToHex(b.AsSpan(0, 4)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("60000000 0000 3b 40 00000000000000000000000000000000 000000000000000000000000000000")]
    [InlineData("40000000 0000 3b 40 00000000000000000000000000000000 00000000000000000000000000000000")]
    [InlineData("60000000 0001 3b 40 00000000000000000000000000000000 00000000000000000000000000000000")]
    public void Truncated_or_wrong_version_is_refused(string hex) => Assert.False(Ipv6Packet.TryCreate(Bytes.Hex(hex), out _));

    [Fact]
    public void Pseudo_header_sum_matches_a_naive_sum()
    {
        var data = new byte[] { 1, 2, 3, 4, 5 };
        var sum = Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(Guest, Router, IpProtocol.Udp, 70000), data));
        Assert.Equal(NaiveChecksumValue(Guest, Router, IpProtocol.Udp, 70000, data), sum);
    }

    [Fact]
    public void Fragment_header_round_trips()
    {
        var b = Bytes.Filled(8);
        Assert.Equal(8, Ipv6FragmentHeader.Write(b, IpProtocol.Udp, 1448, true, 0xDEADBEEF));
        Assert.Equal("110005a9deadbeef", Bytes.ToHex(b));
        Assert.True(Ipv6FragmentHeader.TryCreate(b, out var f));
        Assert.Equal(IpProtocol.Udp, f.NextHeader);
        Assert.Equal(1448, f.FragmentOffset);
        Assert.True(f.MoreFragments);
        Assert.Equal(0xDEADBEEFu, f.Identification);
        f.MoreFragments = false;
        Assert.Equal(1448, f.FragmentOffset);
        Assert.False(f.MoreFragments);
    }

    [Fact]
    public void Udp_and_tcp_over_ipv6_checksums_match_a_naive_sum_and_packetdotnet()
    {
        var b = Bytes.Filled(14 + 40 + 8 + 3);
        var n = EthernetFrame.WriteHeader(b, RouterMac, GuestMac, EtherType.Ipv6);
        n += Ipv6Packet.WriteHeader(b.AsSpan(n), Guest, Router, IpProtocol.Udp, 11);
        UdpPacket.WriteHeader(b.AsSpan(n), 546, 547, 3);
        b.AsSpan(n + 8, 3).Fill(7);
        Assert.True(UdpPacket.TryCreate(b.AsSpan(n), out var udp));
        Assert.False(udp.VerifyChecksum(Guest, Router)); // zero is not allowed over IPv6
        udp.FillChecksum(Guest, Router);
        Assert.True(udp.VerifyChecksum(Guest, Router));
        Assert.Equal(0, NaiveChecksum(Guest, Router, IpProtocol.Udp, b.AsSpan(n)));
        Assert.True(PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, b).Extract<PacketDotNet.UdpPacket>().ValidUdpChecksum);

        var t = Bytes.Filled(14 + 40 + 20);
        n = EthernetFrame.WriteHeader(t, RouterMac, GuestMac, EtherType.Ipv6);
        n += Ipv6Packet.WriteHeader(t.AsSpan(n), Guest, Router, IpProtocol.Tcp, 20);
        TcpPacket.WriteHeader(t.AsSpan(n), 40000, 22, 1, 0, TcpFlags.Syn, 65535, default);
        Assert.True(TcpPacket.TryCreate(t.AsSpan(n), out var tcp));
        tcp.FillChecksum(Guest, Router);
        Assert.True(tcp.VerifyChecksum(Guest, Router));
        Assert.Equal(0, NaiveChecksum(Guest, Router, IpProtocol.Tcp, t.AsSpan(n)));
        Assert.True(PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, t).Extract<PacketDotNet.TcpPacket>().ValidTcpChecksum);
    }

    /// <summary>The RFC 8200 8.1 pseudo-header laid out in bytes and summed word by word: no shared code with Checksum.</summary>
    internal static ushort NaiveChecksumValue(Ipv6Address source, Ipv6Address destination, byte next, int length, ReadOnlySpan<byte> data)
    {
        var all = new byte[40 + data.Length + 1];
        source.WriteTo(all);
        destination.WriteTo(all.AsSpan(16));
        BinaryPrimitives.WriteInt32BigEndian(all.AsSpan(32), length);
        all[39] = next;
        data.CopyTo(all.AsSpan(40));
        long sum = 0;
        for (var i = 0; i + 1 < all.Length; i += 2)
        {
            sum += (all[i] << 8) | all[i + 1];
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>Zero when data holding its own checksum is correct.</summary>
    internal static ushort NaiveChecksum(Ipv6Address source, Ipv6Address destination, byte next, ReadOnlySpan<byte> data) =>
        NaiveChecksumValue(source, destination, next, data.Length, data);
}
