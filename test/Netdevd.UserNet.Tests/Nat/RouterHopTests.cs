using Netdevd.Native;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Tests.Ipv6;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// The virtual router takes its hop, as a router does, so a guest's traceroute works: UDP and echo
/// requests for the outside that arrive with TTL (hop limit) 1 get a time exceeded from the router
/// and go no further; the rest leave the host with one less; the router's own address (the host's
/// loopback behind it) takes no hop; a time exceeded from a hop beyond is relayed.
/// </summary>
public sealed class RouterHopTests : Ipv6StackHarness
{
    private static readonly Ipv4Address Outside = Ipv4Address.Create(203, 0, 113, 1);
    private static readonly Ipv6Address Outside6 = Guest6Frames.Parse("2001:db8::7");

    /// <summary>The frame with its IPv4 TTL set (header checksum refilled).</summary>
    private static byte[] WithTtl(byte[] frame, byte ttl)
    {
        Assert.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.HeaderLength), out var ip));
        ip.TimeToLive = ttl;
        ip.FillChecksum();
        return frame;
    }

    /// <summary>The frame with its IPv6 hop limit set (no header checksum to mend).</summary>
    private static byte[] WithHopLimit(byte[] frame, byte hopLimit)
    {
        frame[EthernetFrame.HeaderLength + 7] = hopLimit;
        return frame;
    }

    /// <summary>The ICMP message the stack sent the guest: sender, type, code, and the quoted datagram.</summary>
    private static (Ipv4Address Source, byte Type, byte Code, byte[] Quoted) ParseIcmp(byte[] frame)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
        Assert.Equal(IpProtocol.Icmp, ip.Protocol);
        Assert.True(IcmpPacket.TryCreate(ip.Payload, out var icmp));
        Assert.True(icmp.VerifyChecksum());
        return (ip.Source, icmp.Header.Type, icmp.Header.Code, ip.Payload[IcmpPacket.HeaderLength..].ToArray());
    }

    [Fact]
    public void Udp_with_ttl_1_gets_a_time_exceeded_from_the_router_and_is_not_sent()
    {
        var datagram = WithTtl(GuestFrames.Udp(Outside, 33434, 33435, [1, 2, 3]), 1);
        Stack.Input(datagram);
        Assert.Empty(NatHost.UdpSent);
        Assert.Empty(NatHost.UdpOpened); // no flow, no host socket
        var (source, type, code, quoted) = ParseIcmp(Assert.Single(Sink.Take()));
        Assert.Equal((GuestFrames.Host, IcmpPacket.TypeTimeExceeded, (byte)0), (source, type, code));
        Assert.Equal(datagram.AsSpan(EthernetFrame.HeaderLength).ToArray(), quoted);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.TimeExceeded));
    }

    [Fact]
    public void Udp_leaves_the_host_with_one_hop_less_and_the_router_itself_takes_none()
    {
        Stack.Input(WithTtl(GuestFrames.Udp(Outside, 33434, 33436, [1]), 2));
        Stack.Input(GuestFrames.Udp(Outside, 33434, 33437, [1]));
        Stack.Input(WithTtl(GuestFrames.Udp(GuestFrames.Host, 40000, 9, [1]), 1)); // 10.0.2.2: the host's loopback
        Assert.Equal([1, 63, 0], NatHost.TtlSent);
        Assert.Equal(3, NatHost.UdpSent.Count);
        Assert.Empty(Sink.Take());
    }

    [Fact]
    public void Echo_takes_the_same_hop()
    {
        Stack.Input(WithTtl(GuestFrames.Ping(Outside, 0x77, 1), 1));
        var (source, type, _, _) = ParseIcmp(Assert.Single(Sink.Take()));
        Assert.Equal((GuestFrames.Host, IcmpPacket.TypeTimeExceeded), (source, type));
        Assert.Empty(NatHost.IcmpOpened);

        Stack.Input(WithTtl(GuestFrames.Ping(Outside, 0x77, 2), 3));
        Assert.Equal([2], NatHost.TtlSent);
    }

    [Fact]
    public void Ipv6_udp_and_echo_with_hop_limit_1_get_a_time_exceeded_from_the_router()
    {
        Stack.Input(WithHopLimit(Guest6Frames.Udp(Guest6Frames.Guest, Outside6, 33434, 33435, [1]), 1));
        Stack.Input(WithHopLimit(Guest6Frames.Ping(Outside6), 1));
        var errors = Sink.Take();
        Assert.Equal(2, errors.Count);
        foreach (var frame in errors)
        {
            Assert.True(EthernetFrame.TryCreate(frame, out var eth));
            Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip));
            Assert.Equal(Guest6Frames.RouterLinkLocal, ip.Source);
            Assert.True(Icmpv6Packet.TryCreate(ip.Payload, out var icmp));
            Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
            Assert.Equal((Icmpv6Packet.TypeTimeExceeded, Icmpv6Packet.CodeHopLimitExceeded), (icmp.Header.Type, icmp.Header.Code));
        }

        Assert.Empty(NatHost.Udp6Sent);
        Assert.Empty(Icmp6.Sent);

        Stack.Input(WithHopLimit(Guest6Frames.Udp(Guest6Frames.Guest, Outside6, 33434, 33436, [1]), 5));
        Stack.Input(WithHopLimit(Guest6Frames.Ping(Outside6, seq: 2), 5));
        Assert.Equal([4], NatHost.TtlSent);
        Assert.Equal([4], Icmp6.HopLimits);
    }

    [Fact]
    public void A_hop_beyonds_time_exceeded_is_relayed_from_that_hop()
    {
        var hop = Ipv4Address.Create(192, 0, 2, 254);
        Stack.Input(WithTtl(GuestFrames.Udp(Outside, 33434, 33440, [9, 9]), 3));
        var flow = Assert.Single(NatHost.UdpOpened);

        // As a router quotes it: the IP header and 8 bytes, so no payload reaches the error queue.
        var error = new ExtendedSocketError(Errno.EHOSTUNREACH, ExtendedSocketError.OriginIcmp, IcmpPacket.TypeTimeExceeded, 0, 0, 0, 0);
        Stack.OnUdpError(flow, error, Outside, 33440, hop, []);
        var (source, type, code, quoted) = ParseIcmp(Assert.Single(Sink.Take()));
        Assert.Equal((hop, IcmpPacket.TypeTimeExceeded, (byte)0), (source, type, code));
        Assert.True(Ipv4Packet.TryCreate(quoted, out var ip));
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.Equal(((ushort)33434, (ushort)33440), (udp.SourcePort, udp.DestinationPort)); // what traceroute matches its probe by
    }
}
