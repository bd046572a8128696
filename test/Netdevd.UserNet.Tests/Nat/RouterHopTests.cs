using Netdevd.Native;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Tests.Ipv6;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// The virtual router takes its hop, as a router does, so a guest's traceroute works: UDP, echo
/// requests and TCP SYNs for the outside that arrive with TTL (hop limit) 1 get a time exceeded
/// from the router and go no further; the rest leave the host with one less; the router's own
/// address (the host's loopback behind it) and its DNS proxy take no hop; a time exceeded from a
/// hop beyond is relayed, for a TCP probe too (the ICMP error that failed the host's connect).
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

    [Fact]
    public void A_tcp_syn_with_ttl_1_gets_a_time_exceeded_from_the_router_and_opens_nothing()
    {
        var syn = WithTtl(GuestFrames.Tcp(Outside, 40000, 80, 1000, 0, TcpFlags.Syn), 1);
        Stack.Input(syn);
        Assert.Empty(NatHost.Opened);
        Assert.Equal(0, Stack.TcpFlowCount);
        var (source, type, code, quoted) = ParseIcmp(Assert.Single(Sink.Take()));
        Assert.Equal((GuestFrames.Host, IcmpPacket.TypeTimeExceeded, (byte)0), (source, type, code));
        Assert.Equal(syn.AsSpan(EthernetFrame.HeaderLength).ToArray(), quoted);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.TimeExceeded));

        Stack.Input(WithHopLimit(Guest6Frames.Tcp(Guest6Frames.Guest, Outside6, 40001, 80, 1, 0, TcpFlags.Syn), 1));
        Assert.Empty(NatHost.Opened);
        var frame = Assert.Single(Sink.Take());
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip));
        Assert.Equal(Guest6Frames.RouterLinkLocal, ip.Source);
        Assert.Equal(Icmpv6Packet.TypeTimeExceeded, ip.Payload[0]);
    }

    [Fact]
    public void A_tcp_connection_leaves_the_host_with_one_hop_less_and_the_router_and_its_dns_proxy_take_none()
    {
        Stack.Dns = new Netdevd.UserNet.Services.Dns.DnsForwarder([new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.53"), 53)], new NoUpstream());
        Stack.Input(WithTtl(GuestFrames.Tcp(Outside, 40010, 80, 1, 0, TcpFlags.Syn), 2));
        Stack.Input(GuestFrames.Tcp(Outside, 40011, 80, 1, 0, TcpFlags.Syn));
        Stack.Input(WithTtl(GuestFrames.Tcp(GuestFrames.Host, 40012, 22, 1, 0, TcpFlags.Syn), 1)); // the host's loopback
        Stack.Input(WithTtl(GuestFrames.Tcp(Ipv4Address.Create(10, 0, 2, 3), 40013, 53, 1, 0, TcpFlags.Syn), 1)); // DNS over TCP, to 192.0.2.53
        Stack.Input(Guest6Frames.Tcp(Guest6Frames.Guest, Outside6, 40014, 80, 1, 0, TcpFlags.Syn, hopLimit: 9));
        Assert.Equal([1, 63, 0, 0, 8], NatHost.OpenedTtls);
        Assert.Empty(Sink.Take());
    }

    [Fact]
    public void The_icmp_error_that_failed_a_tcp_connect_reaches_the_guest_from_its_sender()
    {
        var hop = Ipv4Address.Create(192, 0, 2, 254);
        Stack.Input(WithTtl(GuestFrames.Tcp(Outside, 40020, 80, 5000, 0, TcpFlags.Syn), 3));
        var (connection, _) = Assert.Single(NatHost.Opened);
        var error = new ExtendedSocketError(Errno.EHOSTUNREACH, ExtendedSocketError.OriginIcmp, IcmpPacket.TypeTimeExceeded, 0, 0, 0, 0);
        Stack.OnTcpConnectFailed(connection, Errno.EHOSTUNREACH, error, Ipv6Address.FromIpv4Mapped(hop));

        var (source, type, code, quoted) = ParseIcmp(Assert.Single(Sink.Take())); // no reset beside it
        Assert.Equal((hop, IcmpPacket.TypeTimeExceeded, (byte)0), (source, type, code));
        Assert.True(Ipv4Packet.TryCreate(quoted, out var ip));
        Assert.Equal((GuestFrames.Guest, Outside), (ip.Source, ip.Destination));
        Assert.True(TcpPacket.TryCreate(ip.Payload, out var tcp));
        Assert.Equal(((ushort)40020, (ushort)80, 5000u), (tcp.SourcePort, tcp.DestinationPort, tcp.SequenceNumber)); // what traceroute -T matches
        Assert.Equal(1, Stack.Counters.IcmpErrorsRelayed);
        Assert.Equal(0, Stack.TcpFlowCount);

        // A firewall's port unreachable, its sender not named: from the destination, as sent.
        Stack.Input(GuestFrames.Tcp(Outside, 40021, 81, 6000, 0, TcpFlags.Syn));
        var portUnreachable = error with { Errno = Errno.ECONNREFUSED, Type = IcmpPacket.TypeDestinationUnreachable, Code = 3 };
        Stack.OnTcpConnectFailed(NatHost.Opened[^1].Connection, Errno.ECONNREFUSED, portUnreachable);
        (source, type, code, _) = ParseIcmp(Assert.Single(Sink.Take()));
        Assert.Equal((Outside, IcmpPacket.TypeDestinationUnreachable, (byte)3), (source, type, code));
    }

    [Fact]
    public void A_path_mtu_report_is_not_relayed_and_a_connect_it_failed_reads_as_host_unreachable_from_the_router()
    {
        Stack.Input(GuestFrames.Tcp(Outside, 40030, 80, 1, 0, TcpFlags.Syn));
        var fragmentationNeeded = new ExtendedSocketError(Errno.EHOSTUNREACH, ExtendedSocketError.OriginIcmp, IcmpPacket.TypeDestinationUnreachable, 4, 0, 0, 0);
        Stack.OnTcpConnectFailed(NatHost.Opened[^1].Connection, Errno.EHOSTUNREACH, fragmentationNeeded, Ipv6Address.FromIpv4Mapped(Ipv4Address.Create(192, 0, 2, 254)));
        var (source, type, code, _) = ParseIcmp(Assert.Single(Sink.Take()));
        Assert.Equal((GuestFrames.Host, IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeHostUnreachable), (source, type, code));
        Assert.Equal(0, Stack.Counters.IcmpErrorsRelayed);
    }

    [Fact]
    public void An_ipv6_hops_time_exceeded_that_failed_a_tcp_connect_is_relayed_from_that_hop()
    {
        var hop = Guest6Frames.Parse("2001:db8:1::1");
        Stack.Input(Guest6Frames.Tcp(Guest6Frames.Guest, Outside6, 40040, 443, 7000, 0, TcpFlags.Syn, hopLimit: 3));
        var error = new ExtendedSocketError(Errno.EHOSTUNREACH, ExtendedSocketError.OriginIcmp6, Icmpv6Packet.TypeTimeExceeded, Icmpv6Packet.CodeHopLimitExceeded, 0, 0, 0);
        Stack.OnTcpConnectFailed(Assert.Single(NatHost.Opened).Connection, Errno.EHOSTUNREACH, error, hop);

        var frame = Assert.Single(Sink.Take());
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip));
        Assert.Equal(hop, ip.Source);
        Assert.True(Icmpv6Packet.TryCreate(ip.Payload, out var icmp));
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal((Icmpv6Packet.TypeTimeExceeded, Icmpv6Packet.CodeHopLimitExceeded), (icmp.Header.Type, icmp.Header.Code));
        Assert.True(Ipv6Packet.TryCreate(ip.Payload[Icmpv6Packet.HeaderLength..], out var quoted));
        Assert.True(TcpPacket.TryCreate(quoted.Payload, out var tcp));
        Assert.Equal(((ushort)40040, (ushort)443, 7000u), (tcp.SourcePort, tcp.DestinationPort, tcp.SequenceNumber));
    }

    [Fact]
    public void A_relayed_error_leaves_the_router_with_one_hop_less_than_it_came_with()
    {
        var hop = Ipv4Address.Create(192, 0, 2, 254);
        Stack.Input(WithTtl(GuestFrames.Udp(Outside, 33434, 33441, [1]), 3));
        var flow = Assert.Single(NatHost.UdpOpened);
        var error = new ExtendedSocketError(Errno.EHOSTUNREACH, ExtendedSocketError.OriginIcmp, IcmpPacket.TypeTimeExceeded, 0, 0, 0, 0, Ttl: 62);
        Stack.OnUdpError(flow, error, Outside, 33441, hop, []);
        Stack.OnUdpError(flow, error with { Ttl = 0 }, Outside, 33441, hop, []); // the kernel did not say: as the router's own
        Stack.OnUdpError(flow, error with { Ttl = 1 }, Outside, 33441, hop, []); // delivered, not dropped
        Assert.Equal([61, 64, 1], TtlsOf(Sink.Take()));

        Stack.Input(Guest6Frames.Udp(Guest6Frames.Guest, Outside6, 33434, 33442, [1]));
        var flow6 = NatHost.UdpOpened[^1];
        var error6 = new ExtendedSocketError(Errno.EHOSTUNREACH, ExtendedSocketError.OriginIcmp6, Icmpv6Packet.TypeTimeExceeded, Icmpv6Packet.CodeHopLimitExceeded, 0, 0, 0, Ttl: 60);
        Stack.OnUdp6Error(flow6, error6, Outside6, 33442, Guest6Frames.Parse("2001:db8:1::1"), []);
        Stack.OnUdp6Error(flow6, error6 with { Ttl = 0 }, Outside6, 33442, Guest6Frames.Parse("2001:db8:1::1"), []);
        Assert.Equal([59, 255], TtlsOf(Sink.Take()));
    }

    [Fact]
    public void An_echo_reply_from_beyond_the_host_reaches_the_guest_with_one_hop_less()
    {
        Stack.Input(GuestFrames.Ping(Outside, 0x77, 1));
        var flow = Assert.Single(NatHost.IcmpOpened);
        byte[] reply = [IcmpPacket.TypeEchoReply, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3, 4];
        Stack.OnIcmpReply(flow, reply, 61);
        Stack.OnIcmpReply(flow, reply, 0); // the kernel did not say: as before
        Stack.OnIcmpReply(flow, reply, 1);
        Assert.Equal([60, 64, 1], TtlsOf(Sink.Take()));

        Stack.Input(Guest6Frames.Ping(Outside6, id: 0x78));
        var (flow6, _) = Assert.Single(Icmp6.Sent);
        var reply6 = Guest6Frames.EchoRequest(0x1111, 1);
        reply6[0] = Icmpv6Packet.TypeEchoReply;
        Stack.OnIcmpv6Reply(flow6, reply6, 57);
        Stack.OnIcmpv6Reply(flow6, reply6, 0);
        Assert.Equal([56, 64], TtlsOf(Sink.Take()));

        Stack.Input(GuestFrames.Ping(GuestFrames.Host, 0x79, 1)); // the virtual router's own answer
        Assert.Equal([64], TtlsOf(Sink.Take()));
    }

    /// <summary>The TTL (IPv4) or hop limit (IPv6) of each frame.</summary>
    private static List<byte> TtlsOf(List<byte[]> frames) =>
        [.. frames.Select(f => f[EthernetFrame.HeaderLength] >> 4 == 4 ? f[EthernetFrame.HeaderLength + 8] : f[EthernetFrame.HeaderLength + 7])];

    private sealed class NoUpstream : Netdevd.UserNet.Services.Dns.IDnsUpstream
    {
        public bool Send(System.Net.IPEndPoint resolver, ReadOnlySpan<byte> query) => true;
    }
}
