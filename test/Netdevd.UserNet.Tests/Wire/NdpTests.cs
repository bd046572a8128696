using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class NdpTests
{
    private static readonly Ipv6Address LinkLocal = new(0xFE80_0000_0000_0000UL, 2);
    private static readonly Ipv6Address Prefix = new(0xFEC0_0000_0000_0000UL, 0);
    private static readonly Ipv6Address Dns = new(0xFEC0_0000_0000_0000UL, 3);
    private static readonly MacAddress RouterMac = MacAddress.Create(0x52, 0x56, 0, 0, 0, 2);

    [Fact]
    public void Router_advertisement_built_here_decodes_in_packetdotnet()
    {
        Span<byte> names = stackalloc byte[64];
        Assert.True(DnsName.TryEncode("example.org", names, out var nameLength));
        var icmpLength = NdpRouterAdvertisement.HeaderLength + NdpOption.LinkLayerAddressLength + NdpOption.MtuLength +
                         NdpOption.PrefixInformationLength + NdpOption.RdnssLength(1) + NdpOption.DnsslLength(nameLength);
        var b = Bytes.Filled(14 + 40 + icmpLength);
        var n = EthernetFrame.WriteHeader(b, Ipv6Address.AllNodes.MulticastMac, RouterMac, EtherType.Ipv6);
        n += Ipv6Packet.WriteHeader(b.AsSpan(n), LinkLocal, Ipv6Address.AllNodes, IpProtocol.Icmpv6, icmpLength, 255);
        var icmp = b.AsSpan(n, icmpLength);
        var o = NdpRouterAdvertisement.Write(icmp, 64, false, true, 1800, 0, 0);
        o += NdpOption.WriteLinkLayerAddress(icmp[o..], NdpOption.SourceLinkLayerAddress, RouterMac);
        o += NdpOption.WriteMtu(icmp[o..], 1500);
        o += NdpOption.WritePrefixInformation(icmp[o..], Prefix, 64, true, true, 86400, 14400);
        o += NdpOption.WriteRdnss(icmp[o..], 1200, [Dns]);
        o += NdpOption.WriteDnssl(icmp[o..], 1200, names[..nameLength]);
        Assert.Equal(icmpLength, o);
        Icmpv6Packet.CreateUnchecked(icmp).FillChecksum(LinkLocal, Ipv6Address.AllNodes);
        Assert.Equal(0, Ipv6PacketTests.NaiveChecksum(LinkLocal, Ipv6Address.AllNodes, 58, icmp));

        var p = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, b);
        var ra = p.Extract<PacketDotNet.NdpRouterAdvertisementPacket>();
        Assert.NotNull(ra);
        Assert.Equal(64, ra.CurrentHopLimit);
        Assert.Equal(1800, ra.RouterLifetime);
        Assert.Contains(ra.OptionsCollection, x => x is PacketDotNet.Ndp.NdpLinkPrefixInformationOption pi && pi.PrefixLength == 64 && pi.Prefix.ToString() == "fec0::");
        Assert.Contains(ra.OptionsCollection, x => x is PacketDotNet.Ndp.NdpMtuOption m && m.Mtu == 1500);

        // Read back with our own views.
        Assert.True(NdpRouterAdvertisement.TryCreate(icmp, out var view));
        Assert.True(view.OtherConfiguration);
        Assert.False(view.Managed);
        Assert.Equal(1800, view.RouterLifetime);
        Assert.True(NdpOptionReader.TryFindLinkLayerAddress(view.Options, NdpOption.SourceLinkLayerAddress, out var mac));
        Assert.Equal(RouterMac, mac);
        var reader = new NdpOptionReader(view.Options);
        var seen = new List<byte>();
        while (reader.TryNext(out var type, out var option))
        {
            seen.Add(type);
            if (type == NdpOption.PrefixInformation)
            {
                Assert.True(NdpOptionReader.TryReadPrefixInformation(option, out var info));
                Assert.Equal(new NdpPrefixInformation(Prefix, 64, true, true, 86400, 14400), info);
            }

            if (type == NdpOption.RecursiveDnsServer)
            {
                Assert.Equal("19030000000004b0fec00000000000000000000000000003", Bytes.ToHex(option));
            }

            if (type == NdpOption.DnsSearchList)
            {
                // 8 + 13 name bytes, padded to 24.
                Assert.Equal("1f030000000004b0076578616d706c65036f726700000000", Bytes.ToHex(option));
            }
        }

        Assert.False(reader.IsMalformed);
        Assert.Equal([NdpOption.SourceLinkLayerAddress, NdpOption.Mtu, NdpOption.PrefixInformation, NdpOption.RecursiveDnsServer, NdpOption.DnsSearchList], seen);
    }

    [Fact]
    public void Dnssl_is_padded_to_eight_bytes()
    {
        Span<byte> names = stackalloc byte[64];
        Assert.True(DnsName.TryEncode("example.org", names, out var len));
        var b = Bytes.Filled(32);
        Assert.Equal(24, NdpOption.WriteDnssl(b, 1200, names[..len]));
        Assert.Equal("1f030000000004b0076578616d706c65036f726700000000", Bytes.ToHex(b.AsSpan(0, 24)));
        Assert.Equal(0, NdpOption.WriteDnssl(b, 1200, []));
    }

    [Fact]
    public void Neighbor_solicitation_and_advertisement_round_trip()
    {
        var b = Bytes.Filled(32);
        var n = NdpNeighborSolicitation.Write(b, Dns);
        n += NdpOption.WriteLinkLayerAddress(b.AsSpan(n), NdpOption.SourceLinkLayerAddress, RouterMac);
        Assert.Equal(32, n);
        Assert.Equal("8700000000000000fec00000000000000000000000000003", Bytes.ToHex(b.AsSpan(0, 24)));
        Assert.True(NdpNeighborSolicitation.TryCreate(b, out var ns));
        Assert.Equal(Dns, ns.Target);
        Assert.True(NdpOptionReader.TryFindLinkLayerAddress(ns.Options, NdpOption.SourceLinkLayerAddress, out var mac));
        Assert.Equal(RouterMac, mac);

        NdpNeighborAdvertisement.Write(b, Dns, true, true, true);
        Assert.Equal("88000000e0000000", Bytes.ToHex(b.AsSpan(0, 8)));
        Assert.True(NdpNeighborAdvertisement.TryCreate(b, out var na));
        Assert.True(na.Router && na.Solicited && na.Override);
        Assert.Equal(Dns, na.Target);
    }

    [Theory]
    [InlineData("0100")] // length 0
    [InlineData("0102 525600000002")] // length 16, 8 present
    [InlineData("01")] // no length byte
    public void Malformed_options_make_the_message_invalid(string hex)
    {
        var b = Bytes.Hex(hex);
        Assert.False(NdpOptionReader.IsValid(b));
        Assert.False(NdpOptionReader.TryFindLinkLayerAddress(b, NdpOption.SourceLinkLayerAddress, out _));
    }

    [Fact]
    public void Short_messages_are_refused()
    {
        var b = new byte[23];
        Assert.False(NdpNeighborSolicitation.TryCreate(b, out _));
        Assert.False(NdpNeighborAdvertisement.TryCreate(b, out _));
        Assert.False(NdpRouterAdvertisement.TryCreate(b.AsSpan(0, 15), out _));
        Assert.False(NdpRouterSolicitation.TryCreate(b.AsSpan(0, 7), out _));
        Assert.True(NdpRouterSolicitation.TryCreate(b.AsSpan(0, 8), out _));
    }
}
