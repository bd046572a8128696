using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class Ipv4UdpTests
{
    [Fact]
    public void Ipv4_deconstruct()
    {
        var b = Bytes.Hex(Golden.Udp);
        Assert.True(Ipv4Packet.TryCreate(b.AsSpan(14), out var ip));
        Assert.Equal(4, ip.Version);
        Assert.Equal(20, ip.HeaderLength);
        Assert.Equal(33, ip.TotalLength);
        Assert.Equal(0x1234, ip.Identification);
        Assert.True(ip.DontFragment);
        Assert.False(ip.MoreFragments);
        Assert.False(ip.IsFragment);
        Assert.Equal(0, ip.FragmentOffset);
        Assert.Equal(64, ip.TimeToLive);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(0x1087, ip.HeaderChecksum);
        Assert.True(ip.VerifyChecksum());
        Assert.Equal(Golden.Guest, ip.Source);
        Assert.Equal(Golden.Dns, ip.Destination);
        Assert.Equal(0, ip.OptionsLength);
        Assert.Equal(13, ip.Payload.Length);
    }

    [Fact]
    public void Ipv4_ignores_link_padding()
    {
        var b = new byte[14 + 33 + 13];
        Bytes.Hex(Golden.Udp).CopyTo(b, 0);
        Assert.True(Ipv4Packet.TryCreate(b.AsSpan(14), out var ip));
        Assert.Equal(13, ip.Payload.Length);
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.Equal("hello"u8.ToArray(), udp.Payload.ToArray());
    }

    [Fact]
    public void Ipv4_fragment_fields_and_options()
    {
        var b = Bytes.Filled(24 + 8);
        var ip = Ipv4Packet.CreateUnchecked(b);
        b[0] = 0x46;
        ip.TotalLength = 32;
        b[6] = 0;
        b[7] = 0;
        ip.MoreFragments = true;
        ip.FragmentOffset = 1480;
        Assert.Equal("20b9", Bytes.ToHex(b.AsSpan(6, 2)));
        Assert.True(ip.IsFragment);
        Assert.False(ip.DontFragment);
        Assert.Equal(1480, ip.FragmentOffset);
        Assert.Equal(4, ip.OptionsLength);
        Assert.Equal(8, ip.Payload.Length);
        ip.MoreFragments = false;
        Assert.True(ip.IsFragment);
        ip.FragmentOffset = 0;
        Assert.False(ip.IsFragment);
    }

    [Fact]
    public void Ipv4_construct_into_a5_matches_golden()
    {
        var b = Bytes.Filled(14 + 33);
        var n = EthernetFrame.WriteHeader(b, Golden.HostMac, Golden.GuestMac, EtherType.Ipv4);
        n += Ipv4Packet.WriteHeader(b.AsSpan(n), Golden.Guest, Golden.Dns, IpProtocol.Udp, 13, 0x1234, 64, dontFragment: true);
        UdpPacket.WriteHeader(b.AsSpan(n), 1234, 53, 5);
        "hello"u8.CopyTo(b.AsSpan(n + 8));
        UdpPacket.CreateUnchecked(b.AsSpan(n)).FillChecksum(Golden.Guest, Golden.Dns);
        Assert.Equal(Bytes.ToHex(Bytes.Hex(Golden.Udp)), Bytes.ToHex(b));
    }

    [Theory]
    [InlineData(19)]
    public void Ipv4_too_short(int length) => Assert.False(Ipv4Packet.TryCreate(new byte[length], out _));

    [Fact]
    public void Ipv4_rejects_bad_lengths()
    {
        var good = Bytes.Hex(Golden.Udp).AsSpan(14).ToArray();
        var b = (byte[])good.Clone();
        b[0] = 0x65;
        Assert.False(Ipv4Packet.TryCreate(b, out _)); // version 6
        b = (byte[])good.Clone();
        b[0] = 0x44;
        Assert.False(Ipv4Packet.TryCreate(b, out _)); // IHL 4
        b = (byte[])good.Clone();
        b[0] = 0x4F;
        Assert.False(Ipv4Packet.TryCreate(b, out _)); // IHL 60 > buffer 33
        b = (byte[])good.Clone();
        b[3] = 34;
        Assert.False(Ipv4Packet.TryCreate(b, out _)); // total > buffer
        b = (byte[])good.Clone();
        b[2] = 0;
        b[3] = 19;
        Assert.False(Ipv4Packet.TryCreate(b, out _)); // total < header
        b = (byte[])good.Clone();
        b[10] ^= 1;
        Assert.True(Ipv4Packet.TryCreate(b, out var ip));
        Assert.False(ip.VerifyChecksum());
    }

    [Fact]
    public void Udp_deconstruct_and_cross_check()
    {
        var b = Bytes.Hex(Golden.Udp);
        Assert.True(UdpPacket.TryCreate(b.AsSpan(34), out var u));
        Assert.Equal(1234, u.SourcePort);
        Assert.Equal(53, u.DestinationPort);
        Assert.Equal(13, u.Length);
        Assert.Equal(0x9EE9, u.Checksum);
        Assert.True(u.VerifyChecksum(Golden.Guest, Golden.Dns));
        Assert.False(u.VerifyChecksum(Golden.Guest, Golden.Host));

        var p = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, b);
        var pu = p.Extract<PacketDotNet.UdpPacket>();
        Assert.Equal(53, pu.DestinationPort);
        Assert.True(pu.ValidUdpChecksum);
        Assert.True(p.Extract<PacketDotNet.IPv4Packet>().ValidIPChecksum);
    }

    [Fact]
    public void Udp_zero_checksum_means_none_and_computed_zero_is_ffff()
    {
        var b = Bytes.Hex(Golden.Udp).AsSpan(34).ToArray();
        b[6] = 0;
        b[7] = 0;
        Assert.True(UdpPacket.TryCreate(b, out var u));
        Assert.True(u.VerifyChecksum(Golden.Guest, Golden.Dns));

        // Find a payload whose checksum computes to zero: adjust the last word so the sum is 0xFFFF.
        var z = new byte[10];
        var zu = UdpPacket.CreateUnchecked(z);
        UdpPacket.WriteHeader(z, 1, 2, 2);
        var sum = Checksum.Fold(Checksum.Add(Checksum.PseudoHeader(Golden.Guest, Golden.Dns, IpProtocol.Udp, 10), z.AsSpan(0, 6)));
        var word = (ushort)(0xFFFF - sum);
        z[8] = (byte)(word >> 8);
        z[9] = (byte)word;
        zu.FillChecksum(Golden.Guest, Golden.Dns);
        Assert.Equal(0xFFFF, zu.Checksum);
        Assert.True(zu.VerifyChecksum(Golden.Guest, Golden.Dns));
    }

    [Fact]
    public void Udp_rejects_bad_length_field()
    {
        Assert.False(UdpPacket.TryCreate(new byte[7], out _));
        var b = Bytes.Hex("0001000200070000");
        Assert.False(UdpPacket.TryCreate(b, out _)); // 7 < 8
        b = Bytes.Hex("0001000200090000");
        Assert.False(UdpPacket.TryCreate(b, out _)); // 9 > buffer
    }
}
