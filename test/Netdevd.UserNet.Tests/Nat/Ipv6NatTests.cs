using System.Net;
using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Services.Dns;
using Netdevd.UserNet.Tests.Ipv6;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>TCP and UDP NAT over IPv6: the virtual host is the host's ::1, outside addresses go out as they are, IPv6 headers and checksums.</summary>
public sealed class Ipv6NatTests : IDisposable
{
    private static readonly Ipv6Address Guest6 = Parse("fec0::15");
    private static readonly Ipv6Address Host6 = Parse("fec0::2");
    private static readonly Ipv6Address Dns6 = Parse("fec0::3");
    private static readonly Ipv6Address Outside = Parse("2001:db8::7");
    private readonly ListSink _sink = new();
    private readonly FakeNatHost _host = new();
    private readonly RecordingUpstream _upstream = new();
    private readonly FakeTimeProvider _time = new();
    private UserStack _stack;

    public Ipv6NatTests() => _stack = Create(new UserStackOptions { Ipv6Enabled = true });

    private UserStack Create(UserStackOptions options)
    {
        var stack = new UserStack(options, _sink, _time);
        stack.AttachHost(_host);
        stack.Dns = new DnsForwarder([new IPEndPoint(IPAddress.IPv6Loopback, 53)], _upstream, _time);
        return stack;
    }

    public void Dispose() => _stack.Dispose();

    private static Ipv6Address Parse(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out var a));
        return a;
    }

    private static byte[] Frame(Ipv6Address destination, byte protocol, byte[] l4)
    {
        var frame = new byte[EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength + l4.Length];
        EthernetFrame.WriteHeader(frame, MacAddress.FromValue(0x5256_0000_0002UL), GuestFrames.GuestMac, EtherType.Ipv6);
        Ipv6Packet.WriteHeader(frame.AsSpan(EthernetFrame.HeaderLength), Guest6, destination, protocol, l4.Length);
        l4.CopyTo(frame, EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength);
        return frame;
    }

    private static byte[] Tcp(Ipv6Address destination, ushort sourcePort, ushort destinationPort, uint seq, uint ack, TcpFlags flags, TcpOptions options = default) =>
        Guest6Frames.Tcp(Guest6, destination, sourcePort, destinationPort, seq, ack, flags, options);

    private static byte[] Udp(Ipv6Address destination, ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        var l4 = new byte[UdpPacket.HeaderLength + payload.Length];
        UdpPacket.WriteHeader(l4, sourcePort, destinationPort, payload.Length);
        payload.CopyTo(l4, UdpPacket.HeaderLength);
        UdpPacket.CreateUnchecked(l4).FillChecksum(Guest6, destination);
        return Frame(destination, IpProtocol.Udp, l4);
    }

    /// <summary>The frame's IPv6 source and its verified upper-layer bytes.</summary>
    private static (Ipv6Address Source, byte[] L4) ParseIpv6(byte[] frame, byte protocol)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.Equal(EtherType.Ipv6, eth.EtherType);
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip));
        Assert.Equal(protocol, ip.NextHeader);
        Assert.Equal(Guest6, ip.Destination);
        var sum = Checksum.PseudoHeader(ip.Source, ip.Destination, protocol, ip.Payload.Length);
        Assert.Equal(0xFFFF, Checksum.Fold(Checksum.Add(sum, ip.Payload)));
        return (ip.Source, ip.Payload.ToArray());
    }

    [Fact]
    public void A_connection_to_the_virtual_host_goes_to_the_hosts_ipv6_loopback_with_an_ipv6_mss()
    {
        _stack.Input(Tcp(Host6, 40000, 8080, 100, 0, TcpFlags.Syn, new TcpOptions { MaximumSegmentSize = 1440 }));
        var (connection, target) = Assert.Single(_host.Opened);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 8080), Assert.IsType<HostTarget.Tcp>(target).EndPoint);

        _stack.OnTcpConnected(connection, true);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Tcp);
        Assert.Equal(Host6, source);
        Assert.True(TcpPacket.TryCreate(l4, out var tcp));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, tcp.Flags);
        Assert.Equal(101u, tcp.AcknowledgmentNumber);
        Assert.Equal((ushort)8080, tcp.SourcePort);
        Assert.True(TcpOptions.TryParse(tcp.Options, out var options));
        Assert.Equal((ushort)(65535 - 40 - 20), options.MaximumSegmentSize); // an IPv6 packet's worth, not IPv4's 65495
        Assert.Equal(1440, connection.SendMss);
    }

    [Fact]
    public void A_connection_to_an_outside_address_goes_out_as_it_is_and_data_flows_both_ways()
    {
        _stack.Input(Tcp(Outside, 40001, 443, 500, 0, TcpFlags.Syn));
        var (connection, target) = Assert.Single(_host.Opened);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::7"), 443), Assert.IsType<HostTarget.Tcp>(target).EndPoint);
        _stack.OnTcpConnected(connection, true);
        var (_, synAck) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Tcp);
        Assert.True(TcpPacket.TryCreate(synAck, out var sa));
        _stack.Input(Tcp(Outside, 40001, 443, 501, sa.SequenceNumber + 1, TcpFlags.Ack));
        Assert.Equal(TcpState.Established, connection.State);
        Assert.Equal(1220, connection.SendMss); // no MSS option over IPv6: 1280 - 40 - 20
    }

    [Fact]
    public void Host_data_reaches_a_guest_with_a_large_mss_in_segments_longer_than_1500_bytes()
    {
        // podman and rootlesskit give the guest an MTU of 65520: its MSS over IPv6 is 65460, and
        // TCP segments follow it unfragmented, as over IPv4 (libslirp's ip6_output has no MTU check).
        _stack.Input(Tcp(Host6, 40005, 8080, 100, 0, TcpFlags.Syn, new TcpOptions { MaximumSegmentSize = 65460 }));
        var (connection, _) = Assert.Single(_host.Opened);
        _stack.OnTcpConnected(connection, true);
        var (_, synAck) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Tcp);
        Assert.True(TcpPacket.TryCreate(synAck, out var sa));
        _stack.Input(Tcp(Host6, 40005, 8080, 101, sa.SequenceNumber + 1, TcpFlags.Ack));
        Assert.Equal(TcpState.Established, connection.State);

        var data = new byte[8000];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 7);
        }

        var space = connection.HostReadBuffer();
        data.CopyTo(space.AsSpan());
        _stack.OnTcpReceived(connection, data.Length);

        var received = new List<byte>();
        var longest = 0;
        foreach (var frame in _sink.Take())
        {
            var (_, l4) = ParseIpv6(frame, IpProtocol.Tcp);
            Assert.True(TcpPacket.TryCreate(l4, out var segment));
            received.AddRange(segment.Payload.ToArray());
            longest = Math.Max(longest, Ipv6Packet.HeaderLength + l4.Length);
        }

        Assert.Equal(data, received.ToArray());
        Assert.True(longest > 1500, $"the longest datagram was {longest} bytes");
        Assert.Equal(0, _stack.Counters.Drops(FrameDropReason.OutputFull));
    }

    [Fact]
    public void A_connect_the_host_cannot_route_is_answered_with_an_icmpv6_unreachable_not_a_reset()
    {
        // libslirp's tcp_input: a connect that fails at once, other than refused, is an ICMPv6
        // unreachable quoting the guest's SYN (no route; address unreachable for EHOSTUNREACH).
        var syn = Tcp(Outside, 40006, 443, 7000, 0, TcpFlags.Syn);
        _stack.Input(syn);
        var (connection, _) = Assert.Single(_host.Opened);
        _stack.OnTcpConnectFailed(connection, Netdevd.Native.Errno.ENETUNREACH);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Icmpv6);
        Assert.Equal(Parse("fe80::2"), source);
        Assert.Equal(Icmpv6Packet.TypeDestinationUnreachable, l4[0]);
        Assert.Equal(Icmpv6Packet.CodeNoRoute, l4[1]);
        var quoted = l4.AsSpan(Icmpv6Packet.HeaderLength);
        Assert.True(Ipv6Packet.TryCreate(quoted, out var ip));
        Assert.Equal(Guest6, ip.Source);
        Assert.Equal(Outside, ip.Destination);
        Assert.True(TcpPacket.TryCreate(ip.Payload, out var tcp));
        Assert.Equal((ushort)40006, tcp.SourcePort);
        Assert.Equal((ushort)443, tcp.DestinationPort);
        Assert.Equal(7000u, tcp.SequenceNumber);
        Assert.Equal(0, _stack.TcpFlowCount);

        _stack.Input(Tcp(Outside, 40007, 443, 8000, 0, TcpFlags.Syn));
        _stack.OnTcpConnectFailed(_host.Opened[1].Connection, Netdevd.Native.Errno.EHOSTUNREACH);
        (_, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Icmpv6);
        Assert.Equal(3, l4[1]); // address unreachable

        _stack.Input(Tcp(Outside, 40008, 443, 9000, 0, TcpFlags.Syn));
        _stack.OnTcpConnectFailed(_host.Opened[2].Connection, Netdevd.Native.Errno.ECONNREFUSED);
        (_, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Tcp);
        Assert.True(TcpPacket.TryCreate(l4, out var rst));
        Assert.True(rst.Flags.HasFlag(TcpFlags.Rst)); // refused: a reset, as libslirp
    }

    [Fact]
    public void Restrict_and_on_link_destinations_are_reset()
    {
        _stack.Input(Tcp(Parse("fec0::99"), 40002, 80, 1, 0, TcpFlags.Syn));
        Assert.Empty(_host.Opened);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Tcp);
        Assert.Equal(Parse("fec0::99"), source);
        Assert.True(TcpPacket.TryCreate(l4, out var rst));
        Assert.True(rst.Flags.HasFlag(TcpFlags.Rst));

        _stack.Dispose();
        _stack = Create(new UserStackOptions { Ipv6Enabled = true, Restrict = true });
        _stack.Input(Tcp(Host6, 40003, 80, 1, 0, TcpFlags.Syn));
        Assert.Empty(_host.Opened);
        _stack.Input(Udp(Outside, 5000, 9, [1]));
        Assert.Empty(_host.Udp6Sent);
    }

    [Theory]
    [InlineData("ff02::1", TcpFlags.Ack)]
    [InlineData("ff08:6600:ff:0:400:c400:cd:97", TcpFlags.Ack)]
    [InlineData("ff05::2", TcpFlags.Syn)]
    public void A_segment_to_a_multicast_address_is_dropped_without_a_reset(string group, TcpFlags flags)
    {
        // Found by the user-ipv6 fuzzer: the reset for a segment of no connection came from the
        // group's address, a multicast source no IPv6 node may send from.
        _stack.Input(Tcp(Parse(group), 40000, 80, 1000, 1, flags));
        Assert.Empty(_sink.Take());
        Assert.Empty(_host.Opened);
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.NotForUs));
    }

    [Fact]
    public void Ipv4_mapped_addresses_on_the_wire_are_dropped()
    {
        _stack.Input(Tcp(Ipv6Address.FromIpv4Mapped(Ipv4Address.Create(10, 0, 2, 2)), 40004, 80, 1, 0, TcpFlags.Syn));
        Assert.Empty(_host.Opened);
        Assert.Empty(_sink.Take());
    }

    [Fact]
    public void Query_usernet_lists_the_guests_ipv6_udp_flows()
    {
        _stack.Input(Udp(Outside, 5000, 7777, [1]));
        _stack.Input(GuestFrames.Udp(Ipv4Address.Create(192, 0, 2, 7), 6000, 7777, [1]));
        var flows = new List<Netdevd.Qapi.Schema.UsernetFlowInfo>();
        _stack.CollectFlows(flows);

        Assert.Equal(2, flows.Count(f => f.Protocol == "udp"));
        var v6 = Assert.Single(flows, f => f.GuestAddr == "fec0::15");
        Assert.Equal(("udp", "active", "outbound", 5000), (v6.Protocol, v6.State, v6.Direction, v6.GuestPort));
        Assert.Equal(0, v6.IdleMs);
    }

    [Fact]
    public void The_udp_flow_limit_counts_both_families()
    {
        // The limit bounds the host sockets one netdev holds; IPv4 flows were counted alone, so a
        // guest with the IPv6 quota used could open as many again over IPv4. At the limit a new
        // flow of either family closes the one closest to its expiry (here the DNS one, 10 s).
        _stack.Dispose();
        _stack = Create(new UserStackOptions { Ipv6Enabled = true, Limits = new NatLimits { MaxUdpFlows = 4 } });
        for (ushort port = 5000; port < 5004; port++)
        {
            _stack.Input(Udp(Outside, port, port == 5002 ? (ushort)53 : (ushort)7777, [1]));
        }

        Assert.Equal(4, _stack.Udp6FlowCount);
        _stack.Input(GuestFrames.Udp(Ipv4Address.Create(192, 0, 2, 7), 6000, 7777, [1]));
        Assert.Equal(1, _stack.UdpFlowCount);
        Assert.Equal(3, _stack.Udp6FlowCount);
        Assert.Equal((ushort)5002, Assert.Single(_host.UdpClosed).GuestPort);
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.UdpFlowEvicted));
        Assert.Equal(0, _stack.Counters.Drops(FrameDropReason.UdpFlowLimit));
    }

    [Fact]
    public void Udp_goes_out_through_an_ipv6_flow_and_answers_from_loopback_come_from_the_virtual_host()
    {
        _stack.Input(Udp(Host6, 5000, 7777, [1, 2, 3]));
        var sent = Assert.Single(_host.Udp6Sent);
        Assert.Equal(Ipv6Address.Loopback, sent.Destination);
        Assert.Equal((ushort)7777, sent.Port);
        Assert.Equal(1, _stack.Udp6FlowCount);
        Assert.Equal(0, _stack.UdpFlowCount);

        _stack.Input(Udp(Outside, 5000, 53, [4]));
        Assert.Equal(Outside, _host.Udp6Sent[1].Destination);
        Assert.Equal(1, _stack.Udp6FlowCount); // one socket per guest source, as libslirp

        var flows = (FlowTable<(Ipv6Address, ushort), UdpFlow>)typeof(UserStack)
            .GetField("_udp6", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(_stack)!;
        _stack.OnUdp6Received(flows.Flows.Single(), Ipv6Address.Loopback, 7777, [9, 8]);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Udp);
        Assert.Equal(Host6, source);
        Assert.True(UdpPacket.TryCreate(l4, out var udp));
        Assert.Equal((ushort)7777, udp.SourcePort);
        Assert.Equal((ushort)5000, udp.DestinationPort);
        Assert.Equal([9, 8], udp.Payload.ToArray());
    }

    [Fact]
    public void The_ipv6_host_alias_leads_to_loopback_without_ipv6_host_loopback_and_udp_answers_come_from_it()
    {
        // pasta's --map-host-loopback (or --map-guest-addr with --no-map-gw) for IPv6 alone: the
        // IPv6 gateway no longer leads to ::1, the alias (here in the prefix) does; IPv4 keeps its own.
        var alias = Parse("fec0::99");
        _stack.Dispose();
        _stack = Create(new UserStackOptions { Ipv6Enabled = true, Ipv6HostLoopback = false, Ipv6HostAlias = alias });

        _stack.Input(Tcp(Host6, 40000, 8080, 100, 0, TcpFlags.Syn));
        Assert.Empty(_host.Opened);
        _sink.Take();
        _stack.Input(Tcp(alias, 40001, 8080, 100, 0, TcpFlags.Syn));
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 8080), Assert.IsType<HostTarget.Tcp>(Assert.Single(_host.Opened).Target).EndPoint);
        _stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40002, 8080, 100, 0, TcpFlags.Syn));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), Assert.IsType<HostTarget.Tcp>(_host.Opened[1].Target).EndPoint);

        _stack.Input(Udp(Host6, 5000, 7777, [1]));
        Assert.Empty(_host.Udp6Sent);
        _stack.Input(Udp(alias, 5000, 7777, [1, 2, 3]));
        Assert.Equal(Ipv6Address.Loopback, Assert.Single(_host.Udp6Sent).Destination);
        var flows = (FlowTable<(Ipv6Address, ushort), UdpFlow>)typeof(UserStack)
            .GetField("_udp6", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(_stack)!;
        _sink.Take();
        _stack.OnUdp6Received(flows.Flows.Single(), Ipv6Address.Loopback, 7777, [9, 8]);
        Assert.Equal(alias, ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Udp).Source);
    }

    [Fact]
    public void A_udp_answer_from_loopback_comes_from_the_gateway_address_the_guest_sent_to()
    {
        // Sent to the gateway's link-local twin: the answer comes from it, or the guest's socket would not take it.
        var routerLinkLocal = Parse("fe80::2");
        _stack.Input(Udp(routerLinkLocal, 5000, 7777, [1]));
        Assert.Equal(Ipv6Address.Loopback, Assert.Single(_host.Udp6Sent).Destination);
        var flows = (FlowTable<(Ipv6Address, ushort), UdpFlow>)typeof(UserStack)
            .GetField("_udp6", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(_stack)!;
        _stack.OnUdp6Received(flows.Flows.Single(), Ipv6Address.Loopback, 7777, [9]);
        Assert.Equal(routerLinkLocal, ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Udp).Source);
    }

    [Fact]
    public void A_udp_forward_to_the_guests_ipv6_address_keeps_the_client_and_the_answer_goes_back_to_it()
    {
        UdpForwardFlow? answered = null;
        byte[] answer = [];
        _stack.SetUdpForwardReply((flow, payload) =>
        {
            answered = flow;
            answer = payload.ToArray();
        });
        var forward = _stack.OpenUdpForward6(Guest6, 5353, Outside, 40001, new object());
        Assert.NotNull(forward);
        _stack.OnUdpForwardDatagram(forward, [1, 2, 3]);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Udp);
        Assert.Equal(Outside, source);
        Assert.True(UdpPacket.TryCreate(l4, out var udp));
        Assert.Equal((ushort)40001, udp.SourcePort);
        Assert.Equal((ushort)5353, udp.DestinationPort);
        Assert.Equal([1, 2, 3], udp.Payload.ToArray());

        _stack.Input(Udp(Outside, 5353, 40001, [4, 5]));
        Assert.Same(forward, answered);
        Assert.Equal([4, 5], answer);
        Assert.Empty(_host.Udp6Sent); // not a NAT flow of the guest's own
        Assert.Equal(0, _stack.Udp6FlowCount);

        var loopback = _stack.OpenUdpForward6(Guest6, 5353, Ipv6Address.Loopback, 40002, new object());
        Assert.NotNull(loopback);
        Assert.Equal(Host6, loopback.Foreign);
    }

    [Fact]
    public void A_udp_datagram_the_host_cannot_route_is_answered_with_an_icmpv6_no_route()
    {
        // libslirp's udp6_input: a failed sendto is reported to the guest (icmp6_send_error, no route).
        _host.Udp6Unreachable = true;
        var datagram = Udp(Outside, 5001, 9, [1, 2, 3]);
        _stack.Input(datagram);
        Assert.Single(_host.Udp6Sent);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Icmpv6);
        Assert.Equal(Parse("fe80::2"), source);
        Assert.Equal(Icmpv6Packet.TypeDestinationUnreachable, l4[0]);
        Assert.Equal(Icmpv6Packet.CodeNoRoute, l4[1]);
        Assert.Equal(datagram.AsSpan(EthernetFrame.HeaderLength).ToArray(), l4.AsSpan(Icmpv6Packet.HeaderLength).ToArray());

        _host.Udp6Unreachable = false;
        _stack.Input(Udp(Outside, 5001, 9, [4]));
        Assert.Empty(_sink.Take());
    }

    [Fact]
    public void On_a_host_without_ipv6_a_udp_datagram_gets_an_icmpv6_no_route_at_once_and_opens_no_flow()
    {
        // ipv6.disable=1: the host's socket(AF_INET6) fails with EAFNOSUPPORT.
        _host.UdpOpenError = Netdevd.Native.Errno.EAFNOSUPPORT;
        var datagram = Udp(Host6, 5004, 53, [1, 2, 3]);
        _stack.Input(datagram);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Icmpv6);
        Assert.Equal(Parse("fe80::2"), source);
        Assert.Equal((Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodeNoRoute), (l4[0], l4[1]));
        Assert.Equal(datagram.AsSpan(EthernetFrame.HeaderLength).ToArray(), l4.AsSpan(Icmpv6Packet.HeaderLength).ToArray());
        Assert.Empty(_host.UdpOpened);
    }

    [Fact]
    public void A_closed_port_on_the_hosts_loopback_is_an_icmpv6_port_unreachable_quoting_the_guests_datagram()
    {
        var datagram = Udp(Host6, 5001, 5999, "hello"u8.ToArray());
        _stack.Input(datagram);
        Assert.Equal((Ipv6Address.Loopback, (ushort)5999), (_host.Udp6Sent[0].Destination, _host.Udp6Sent[0].Port));
        var flow = _host.UdpOpened[^1];

        var error = new Native.ExtendedSocketError(Native.Errno.ECONNREFUSED, Native.ExtendedSocketError.OriginIcmp6, Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodePortUnreachable, 0, 0, 0);
        _stack.OnUdp6Error(flow, error, Ipv6Address.Loopback, 5999, Ipv6Address.Loopback, "hello"u8);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Icmpv6);
        Assert.Equal(Host6, source); // the host's ::1 as the guest reached it
        Assert.Equal(Icmpv6Packet.TypeDestinationUnreachable, l4[0]);
        Assert.Equal(Icmpv6Packet.CodePortUnreachable, l4[1]);
        Assert.Equal(datagram.AsSpan(EthernetFrame.HeaderLength).ToArray(), l4.AsSpan(Icmpv6Packet.HeaderLength).ToArray()); // byte for byte
        Assert.Equal(1, _stack.Counters.IcmpErrorsRelayed);

        // A packet too big is the host's path MTU; an IPv4 error is not this socket's.
        _stack.OnUdp6Error(flow, error with { Type = Icmpv6Packet.TypePacketTooBig, Code = 0 }, Ipv6Address.Loopback, 5999, Ipv6Address.Loopback, "hello"u8);
        _stack.OnUdp6Error(flow, error with { Origin = Native.ExtendedSocketError.OriginIcmp, Type = 3, Code = 3 }, Ipv6Address.Loopback, 5999, Ipv6Address.Loopback, "hello"u8);
        Assert.Empty(_sink.Take());
    }

    [Fact]
    public void A_long_ipv6_datagram_is_quoted_within_the_minimum_mtu()
    {
        var payload = Enumerable.Range(0, 1400).Select(i => (byte)i).ToArray();
        _stack.Input(Udp(Outside, 5002, 9, payload));
        var error = new Native.ExtendedSocketError(Native.Errno.EHOSTUNREACH, Native.ExtendedSocketError.OriginIcmp6, Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodeAddressUnreachable, 0, 0, 0);
        _stack.OnUdp6Error(_host.UdpOpened[^1], error, Outside, 9, Ipv6Address.Unspecified, payload);
        var frame = Assert.Single(_sink.Take());
        Assert.Equal(Ipv6Packet.MinimumMtu, frame.Length - EthernetFrame.HeaderLength);
        var (source, l4) = ParseIpv6(frame, IpProtocol.Icmpv6);
        Assert.Equal(Outside, source); // no sender named: the destination
        Assert.Equal(Icmpv6Packet.CodeAddressUnreachable, l4[1]);
        var quotedPayload = l4.AsSpan(Icmpv6Packet.HeaderLength + Ipv6Packet.HeaderLength + UdpPacket.HeaderLength);
        Assert.Equal(payload.AsSpan(0, quotedPayload.Length).ToArray(), quotedPayload.ToArray());
    }

    [Fact]
    public void A_query_to_the_ipv6_dns_address_goes_to_the_forwarder_and_the_answer_comes_back_over_ipv6()
    {
        byte[] query = Bytes.Hex("abcd 0100 0001 0000 0000 0000 076578616d706c65036f726700 001c 0001");
        _stack.Input(Udp(Dns6, 5353, 53, query));
        Assert.Empty(_host.Udp6Sent);
        var (resolver, forwarded) = Assert.Single(_upstream.Sent);

        var answer = forwarded.ToArray();
        answer[2] = 0x81;
        answer[3] = 0x80;
        _stack.OnDnsAnswer(resolver, answer);
        var (source, l4) = ParseIpv6(Assert.Single(_sink.Take()), IpProtocol.Udp);
        Assert.Equal(Dns6, source);
        Assert.True(UdpPacket.TryCreate(l4, out var udp));
        Assert.Equal((ushort)53, udp.SourcePort);
        Assert.Equal((ushort)5353, udp.DestinationPort);
        Assert.Equal(0xabcd, (udp.Payload[0] << 8) | udp.Payload[1]); // the guest's own id restored
    }

    [Fact]
    public void A_query_over_ipv6_that_no_resolver_answers_gets_servfail_from_the_ipv6_dns_address()
    {
        byte[] query = Bytes.Hex("abce 0100 0001 0000 0000 0000 076578616d706c65036f726700 001c 0001");
        _stack.Input(Udp(Dns6, 5354, 53, query));
        Assert.Single(_upstream.Sent);
        for (var i = 0; i < 50; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            _stack.Poll();
        }

        // Every attempt timed out: the SERVFAIL goes back over IPv6 (it once went out as an IPv4
        // datagram to 0.0.0.0, and the guest heard nothing).
        AssertServFail(Assert.Single(_sink.Take()), 5354, 0xabce);
    }

    [Fact]
    public void A_query_over_ipv6_the_host_cannot_send_gets_servfail_at_once()
    {
        _upstream.Refused.Add(new IPEndPoint(IPAddress.IPv6Loopback, 53));
        byte[] query = Bytes.Hex("abcf 0100 0001 0000 0000 0000 076578616d706c65036f726700 001c 0001");
        _stack.Input(Udp(Dns6, 5355, 53, query));
        AssertServFail(Assert.Single(_sink.Take()), 5355, 0xabcf);
    }

    [Fact]
    public void An_icmp_error_for_the_last_attempt_of_an_ipv6_query_gets_servfail_at_once()
    {
        byte[] query = Bytes.Hex("abd0 0100 0001 0000 0000 0000 076578616d706c65036f726700 001c 0001");
        _stack.Input(Udp(Dns6, 5356, 53, query));
        var (resolver, sent) = Assert.Single(_upstream.Sent);

        // One resolver, asked twice: the first error sends the second attempt, the second fails it.
        _stack.OnDnsUnreachable(resolver, sent);
        Assert.Equal(2, _upstream.Sent.Count);
        Assert.Empty(_sink.Take());
        _stack.OnDnsUnreachable(resolver, _upstream.Sent[1].Data);
        AssertServFail(Assert.Single(_sink.Take()), 5356, 0xabd0);
    }

    private static void AssertServFail(byte[] frame, ushort guestPort, ushort guestId)
    {
        var (source, l4) = ParseIpv6(frame, IpProtocol.Udp);
        Assert.Equal(Dns6, source);
        Assert.True(UdpPacket.TryCreate(l4, out var udp));
        Assert.Equal((ushort)53, udp.SourcePort);
        Assert.Equal(guestPort, udp.DestinationPort);
        Assert.Equal(guestId, (udp.Payload[0] << 8) | udp.Payload[1]);
        Assert.Equal(2, udp.Payload[3] & 0x0f); // RCODE SERVFAIL
        Assert.Equal(0x80, udp.Payload[2] & 0x80); // a response
    }

    private sealed class RecordingUpstream : IDnsUpstream
    {
        public List<(IPEndPoint To, byte[] Data)> Sent { get; } = [];

        /// <summary>Resolvers the host refuses at once (no route): a send to one is recorded and fails.</summary>
        public HashSet<IPEndPoint> Refused { get; } = [];

        public bool Send(IPEndPoint resolver, ReadOnlySpan<byte> query)
        {
            Sent.Add((resolver, query.ToArray()));
            return !Refused.Contains(resolver);
        }
    }
}
