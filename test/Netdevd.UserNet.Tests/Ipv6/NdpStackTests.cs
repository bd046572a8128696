using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;
using static Netdevd.UserNet.Tests.Ipv6.Guest6Frames;

namespace Netdevd.UserNet.Tests.Ipv6;

public sealed class NdpStackTests : Ipv6StackHarness
{
    [Fact]
    public void Router_solicitation_is_answered_with_libslirps_advertisement_plus_mtu_rdnss_and_dnssl()
    {
        Stack.Input(RouterSolicitation(GuestLinkLocal));
        var frame = Assert.Single(Sink.Take());
        var icmp = ReadIcmp(frame, out var ip, out var eth);
        Assert.Equal(Ipv6Address.AllNodes.MulticastMac, eth.Destination);
        Assert.Equal(RouterMac, eth.Source);
        Assert.Equal(RouterLinkLocal, ip.Source);
        Assert.Equal(Ipv6Address.AllNodes, ip.Destination);
        Assert.Equal(255, ip.HopLimit);
        Assert.Equal(Icmpv6Packet.TypeRouterAdvertisement, icmp.Header.Type);
        Assert.True(NdpRouterAdvertisement.TryCreate(icmp.Bytes, out var ra));
        Assert.Equal(64, ra.CurrentHopLimit);
        Assert.Equal(1800, ra.RouterLifetime);
        Assert.False(ra.Managed);
        Assert.False(ra.OtherConfiguration);

        var reader = new NdpOptionReader(ra.Options);
        var types = new List<byte>();
        while (reader.TryNext(out var type, out var option))
        {
            types.Add(type);
            switch (type)
            {
                case NdpOption.SourceLinkLayerAddress:
                    Assert.Equal("0101525600000002", Bytes.ToHex(option));
                    break;
                case NdpOption.Mtu:
                    Assert.Equal("05010000000005dc", Bytes.ToHex(option));
                    break;
                case NdpOption.PrefixInformation:
                    Assert.True(NdpOptionReader.TryReadPrefixInformation(option, out var info));
                    Assert.Equal(new NdpPrefixInformation(Parse("fec0::"), 64, true, true, 86400, 14400), info);
                    break;
                case NdpOption.RecursiveDnsServer:
                    Assert.Equal("19030000000004b0" + "fec00000000000000000000000000003", Bytes.ToHex(option));
                    break;
                case NdpOption.DnsSearchList:
                    Assert.Equal("1f050000000004b0" + "076578616d706c65036f726700" + "04636f7270076578616d706c6500" + "0000000000", Bytes.ToHex(option));
                    break;
            }
        }

        Assert.False(reader.IsMalformed);
        Assert.Equal([1, 5, 3, 25, 31], types);
        Assert.Equal(1, Stack.RouterAdvertisementsSent);
    }

    [Fact]
    public void The_advertised_mtu_is_the_configured_one()
    {
        Recreate(Options() with { GuestMtu = 9000 });
        Stack.Input(RouterSolicitation(GuestLinkLocal));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out _, out _);
        Assert.True(NdpRouterAdvertisement.TryCreate(icmp.Bytes, out var ra));
        var reader = new NdpOptionReader(ra.Options);
        string? mtu = null;
        while (reader.TryNext(out var type, out var option))
        {
            mtu = type == NdpOption.Mtu ? Bytes.ToHex(option) : mtu;
        }

        Assert.Equal("0501000000002328", mtu);
    }

    [Theory]
    [InlineData("fec0::2", true)]
    [InlineData("fe80::2", true)]
    [InlineData("fec0::3", true)]
    [InlineData("fe80::3", true)]
    [InlineData("fec0::4", false)]
    [InlineData("fec0::5054:ff:fe12:3456", false)]
    public void Neighbor_solicitation_is_answered_for_the_virtual_addresses_only(string target, bool answered)
    {
        var t = Parse(target);
        Stack.Input(NeighborSolicitation(GuestLinkLocal, t));
        var frames = Sink.Take();
        if (!answered)
        {
            Assert.Empty(frames);
            Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.NotForUs));
            return;
        }

        var icmp = ReadIcmp(Assert.Single(frames), out var ip, out var eth);
        Assert.Equal(GuestMac, eth.Destination);
        Assert.Equal(t, ip.Source);
        Assert.Equal(GuestLinkLocal, ip.Destination);
        Assert.Equal(255, ip.HopLimit);
        Assert.True(NdpNeighborAdvertisement.TryCreate(icmp.Bytes, out var na));
        Assert.True(na.Router && na.Solicited && na.Override);
        Assert.Equal(t, na.Target);
        Assert.True(NdpOptionReader.TryFindLinkLayerAddress(na.Options, NdpOption.TargetLinkLayerAddress, out var mac));
        Assert.Equal(MacAddress.Create(0x52, 0x56, 0, 0, 0, t[15]), mac);
    }

    [Fact]
    public void The_host_alias_in_the_prefix_is_solicited_and_pinged_as_a_virtual_address()
    {
        // pasta's IPv6 --map-guest-addr as podman gives it (fc00::2 beside the namespace's fc00::3): on-link.
        var alias = Parse("fec0::99");
        Recreate(Options() with { Ipv6HostAlias = alias });
        Stack.Input(NeighborSolicitation(GuestLinkLocal, alias));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(alias, ip.Source);
        Assert.True(NdpNeighborAdvertisement.TryCreate(icmp.Bytes, out var na));
        Assert.Equal(alias, na.Target);

        Stack.Input(Ping(alias));
        icmp = ReadIcmp(Assert.Single(Sink.Take()), out ip, out _);
        Assert.Equal((Icmpv6Packet.TypeEchoReply, alias), (icmp.Header.Type, ip.Source));
        Assert.Empty(Icmp6.Sent);
    }

    [Fact]
    public void The_guests_duplicate_address_detection_is_never_answered()
    {
        Stack.Input(NeighborSolicitation(Ipv6Address.Unspecified, Guest, withSourceLinkLayer: false));
        Stack.Input(NeighborSolicitation(Ipv6Address.Unspecified, GuestLinkLocal, withSourceLinkLayer: false));
        Assert.Empty(Sink.Take());
        Assert.Equal(0, Stack.Neighbors6.Count); // nothing learnt from the unspecified address
    }

    [Fact]
    public void Duplicate_address_detection_for_the_virtual_host_is_defended_to_all_nodes()
    {
        Stack.Input(NeighborSolicitation(Ipv6Address.Unspecified, Gateway, withSourceLinkLayer: false));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(Ipv6Address.AllNodes, ip.Destination);
        Assert.True(NdpNeighborAdvertisement.TryCreate(icmp.Bytes, out var na));
        Assert.False(na.Solicited);
    }

    [Fact]
    public void Ndp_that_fails_rfc4861s_checks_is_dropped_and_counted()
    {
        Stack.Input(NeighborSolicitation(GuestLinkLocal, Gateway, hopLimit: 64)); // routed from elsewhere
        var zeroLengthOption = new byte[32];
        NdpNeighborSolicitation.Write(zeroLengthOption, Gateway);
        zeroLengthOption[24] = 1;
        Stack.Input(Icmp(GuestLinkLocal, Gateway.SolicitedNodeMulticast, zeroLengthOption, 255));
        Stack.Input(RouterSolicitation(Ipv6Address.Unspecified, LinkLayerOption(NdpOption.SourceLinkLayerAddress, GuestMac)));
        Assert.Empty(Sink.Take());
        Assert.Equal(3, Stack.Counters.Drops(FrameDropReason.InvalidNdp));
    }

    [Fact]
    public void A_neighbor_advertisement_teaches_the_guests_address()
    {
        var otherMac = MacAddress.Create(0x52, 0x54, 0, 0xAA, 0xBB, 0xCC);
        Stack.Input(NeighborAdvertisement(GuestLinkLocal, Guest, otherMac));
        Assert.Empty(Sink.Take());
        Assert.True(Stack.Neighbors6.TryLookup(Guest, out var mac));
        Assert.Equal(otherMac, mac);
        Assert.True(Stack.Neighbors6.TryLookup(GuestLinkLocal, out mac)); // and the frame's sender
        Assert.Equal(GuestMac, mac);
    }

    [Fact]
    public void Sending_to_a_guest_address_without_a_mac_goes_to_its_solicited_node_group_and_solicits_it()
    {
        var stranger = Parse("fec0::1234:5678");
        var target = Parse("2001:db8::1");
        Stack.Input(Ping(target, id: 7, source: stranger));
        var (flow, _) = Assert.Single(Icmp6.Sent);

        // Sixteen other guest addresses push the stranger out of the table (libslirp's 16 entries).
        for (var i = 0; i < NdpTable.DefaultCapacity; i++)
        {
            Stack.Input(NeighborAdvertisement(GuestLinkLocal, Parse($"fec0::{i + 1:x}:1"), GuestMac));
        }

        Assert.False(Stack.Neighbors6.TryLookup(stranger, out _));
        var reply = Guest6Frames.EchoRequest(7, 1);
        reply[0] = Icmpv6Packet.TypeEchoReply;
        Stack.OnIcmpv6Reply(flow, reply);
        ReadIcmp(Assert.Single(Sink.Take()), out var ip, out var eth);
        Assert.Equal(stranger, ip.Destination);
        Assert.Equal(target, ip.Source);
        Assert.Equal(stranger.SolicitedNodeMulticast.MulticastMac, eth.Destination);

        Assert.True(Stack.HasTimers);
        Stack.Poll();
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out ip, out eth);
        Assert.Equal(Icmpv6Packet.TypeNeighborSolicitation, icmp.Header.Type);
        Assert.Equal(stranger.SolicitedNodeMulticast, ip.Destination);
        Assert.Equal(Gateway, ip.Source);
        Assert.Equal(255, ip.HopLimit);
        Assert.True(NdpNeighborSolicitation.TryCreate(icmp.Bytes, out var ns));
        Assert.Equal(stranger, ns.Target);
        Assert.True(NdpOptionReader.TryFindLinkLayerAddress(ns.Options, NdpOption.SourceLinkLayerAddress, out var mac));
        Assert.Equal(RouterMac, mac);
    }

    [Fact]
    public void Routers_advertise_periodically_every_200_to_600_seconds()
    {
        Assert.InRange(Stack.IdleWakeupMs - Stack.NowMs, 200_000, 600_000);
        Time.Advance(TimeSpan.FromSeconds(601));
        Stack.Poll();
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(Icmpv6Packet.TypeRouterAdvertisement, icmp.Header.Type);
        Assert.Equal(Ipv6Address.AllNodes, ip.Destination);
        Assert.InRange(Stack.IdleWakeupMs - Stack.NowMs, 200_000, 600_000);
        Stack.Poll();
        Assert.Empty(Sink.Take());
    }

    [Fact]
    public void A_flood_of_router_solicitations_gets_at_most_one_advertisement_per_3_seconds()
    {
        // RFC 4861 6.2.6: advertisements to all nodes are rate-limited (MIN_DELAY_BETWEEN_RAS);
        // each of a guest's solicitations sent one to every node on the link.
        for (var i = 0; i < 100; i++)
        {
            Stack.Input(RouterSolicitation(GuestLinkLocal));
        }

        Assert.Single(Sink.Take());
        Assert.Equal(1, Stack.RouterAdvertisementsSent);

        // The solicitations that came too soon are answered by one advertisement 3 s after it.
        Assert.Equal(Stack.NowMs + 3000, Stack.IdleWakeupMs);
        Time.Advance(TimeSpan.FromMilliseconds(2999));
        Stack.Poll();
        Assert.Empty(Sink.Take());
        Time.Advance(TimeSpan.FromMilliseconds(1));
        Stack.Poll();
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(Icmpv6Packet.TypeRouterAdvertisement, icmp.Header.Type);
        Assert.Equal(Ipv6Address.AllNodes, ip.Destination);
        Assert.InRange(Stack.IdleWakeupMs - Stack.NowMs, 200_000, 600_000); // back to the periodic ones

        // A solicitation 3 s after the last advertisement is answered at once.
        Time.Advance(TimeSpan.FromSeconds(3));
        Stack.Input(RouterSolicitation(GuestLinkLocal));
        Assert.Single(Sink.Take());
        Assert.Equal(3, Stack.RouterAdvertisementsSent);
    }

    [Fact]
    public void With_ipv6_off_nothing_is_answered_and_nothing_is_scheduled()
    {
        Recreate(new UserStackOptions());
        Stack.Input(RouterSolicitation(GuestLinkLocal));
        Stack.Input(NeighborSolicitation(GuestLinkLocal, Gateway));
        Assert.Empty(Sink.Take());
        Assert.Equal(2, Stack.Counters.Drops(FrameDropReason.UnsupportedEtherType));
        Assert.Equal(long.MaxValue, Stack.IdleWakeupMs);
        Assert.False(Stack.HasTimers);
    }

    [Fact]
    public void A_custom_prefix_and_host_are_advertised_and_answered()
    {
        Recreate(Options() with
        {
            Ipv6Prefix = Parse("2001:db8:1::"),
            Ipv6PrefixLength = 48,
            Ipv6Host = Parse("2001:db8:1::1"),
            Ipv6Dns = Parse("2001:db8:1::53"),
            Ipv6DnsSearch = [],
        });
        Stack.Input(RouterSolicitation(GuestLinkLocal));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(Parse("fe80::1"), ip.Source);
        Assert.True(NdpRouterAdvertisement.TryCreate(icmp.Bytes, out var ra));
        var reader = new NdpOptionReader(ra.Options);
        var sawDnssl = false;
        while (reader.TryNext(out var type, out var option))
        {
            sawDnssl |= type == NdpOption.DnsSearchList;
            if (type == NdpOption.PrefixInformation)
            {
                Assert.True(NdpOptionReader.TryReadPrefixInformation(option, out var info));
                Assert.Equal(Parse("2001:db8:1::"), info.Prefix);
                Assert.Equal(48, info.PrefixLength);
            }
        }

        Assert.False(sawDnssl);
        Stack.Input(NeighborSolicitation(GuestLinkLocal, Parse("2001:db8:1::53")));
        Assert.Single(Sink.Take());
        Stack.Input(NeighborSolicitation(GuestLinkLocal, Parse("fec0::2")));
        Assert.Empty(Sink.Take());
    }
}
