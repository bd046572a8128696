using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Tests.Ipv6;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// An ICMP error the host's UDP or ping socket heard about a guest's datagram (a closed port, an
/// unreachable host or network) reaches the guest as the same destination unreachable, quoting
/// the datagram the guest sent, from the host that said so as the guest sees it; a path MTU
/// report and other errors stay on the host.
/// </summary>
public sealed class RelayedErrorTests : Ipv6StackHarness
{
    private const ushort GuestPort = 5001;
    private static readonly Ipv4Address Outside = Ipv4Address.Create(203, 0, 113, 1);
    private static readonly Ipv4Address Router = Ipv4Address.Create(192, 0, 2, 1);

    private static ExtendedSocketError Icmp(byte type, byte code, int errno = Errno.ECONNREFUSED) =>
        new(errno, ExtendedSocketError.OriginIcmp, type, code, 0, 0, 0);

    /// <summary>The guest sends a datagram; returns its flow and the IPv4 datagram as sent.</summary>
    private UdpFlow Send(Ipv4Address destination, ushort port, byte[] payload, out byte[] datagram)
    {
        var frame = GuestFrames.Udp(destination, GuestPort, port, payload);
        Stack.Input(frame);
        datagram = frame[EthernetFrame.HeaderLength..];
        return NatHost.UdpOpened[^1];
    }

    /// <summary>The ICMP error in <paramref name="frame"/> to the guest, its checksums verified: sender, type, code, quoted bytes.</summary>
    private static (Ipv4Address Source, byte Type, byte Code, byte[] Quoted) ParseError(byte[] frame)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
        Assert.True(ip.VerifyChecksum());
        Assert.Equal(GuestFrames.Guest, ip.Destination);
        Assert.Equal(IpProtocol.Icmp, ip.Protocol);
        Assert.True(IcmpPacket.TryCreate(ip.Payload, out var icmp));
        Assert.True(icmp.VerifyChecksum());
        return (ip.Source, icmp.Header.Type, icmp.Header.Code, ip.Payload[IcmpPacket.HeaderLength..].ToArray());
    }

    /// <summary>The quoted datagram's addresses, ports and payload, its UDP checksum verified.</summary>
    private static (Ipv4Address Source, Ipv4Address Destination, ushort SourcePort, ushort DestinationPort, byte[] Payload) ParseQuoted(byte[] quoted)
    {
        Assert.True(Ipv4Packet.TryCreate(quoted, out var ip));
        Assert.True(ip.VerifyChecksum());
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
        return (ip.Source, ip.Destination, udp.SourcePort, udp.DestinationPort, udp.Payload.ToArray());
    }

    [Fact]
    public void A_closed_port_on_the_hosts_loopback_is_a_port_unreachable_from_the_address_the_guest_used()
    {
        var flow = Send(GuestFrames.Host, 5999, "hello"u8.ToArray(), out var datagram);
        Assert.Equal((Ipv4Address.Loopback, (ushort)5999), (NatHost.UdpSent[0].Destination, NatHost.UdpSent[0].Port));

        Stack.OnUdpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, 3), Ipv4Address.Loopback, 5999, Ipv4Address.Loopback, "hello"u8);
        var (source, type, code, quoted) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal(GuestFrames.Host, source);
        Assert.Equal(IcmpPacket.TypeDestinationUnreachable, type);
        Assert.Equal(3, code);
        var (from, to, fromPort, toPort, payload) = ParseQuoted(quoted);
        Assert.Equal((GuestFrames.Guest, GuestFrames.Host, GuestPort, (ushort)5999), (from, to, fromPort, toPort));
        Assert.Equal("hello"u8.ToArray(), payload);
        Assert.Equal(datagram.AsSpan(Ipv4Packet.MinimumHeaderLength).ToArray(), quoted.AsSpan(Ipv4Packet.MinimumHeaderLength).ToArray()); // the guest's UDP datagram, byte for byte
        Assert.Equal(1, Stack.Counters.IcmpErrorsRelayed);
    }

    [Fact]
    public void A_routers_unreachable_comes_from_the_router_and_one_without_a_sender_from_the_destination()
    {
        var flow = Send(Outside, 9, [1, 2, 3], out _);
        Stack.OnUdpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeNetUnreachable, Errno.ENETUNREACH), Outside, 9, Router, [1, 2, 3]);
        var (source, _, code, quoted) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal(Router, source);
        Assert.Equal(IcmpPacket.CodeNetUnreachable, code);
        Assert.Equal(Outside, ParseQuoted(quoted).Destination);

        Stack.OnUdpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeHostUnreachable, Errno.EHOSTUNREACH), Outside, 9, Ipv4Address.Any, [1, 2, 3]);
        (source, _, code, _) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal(Outside, source);
        Assert.Equal(IcmpPacket.CodeHostUnreachable, code);
    }

    [Fact]
    public void A_long_datagram_is_quoted_within_576_bytes()
    {
        var payload = Enumerable.Range(0, 1400).Select(i => (byte)i).ToArray();
        var flow = Send(Outside, 9, payload, out _);
        Stack.OnUdpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, 3), Outside, 9, Outside, payload);
        var frame = Assert.Single(Sink.Take());
        Assert.Equal(576, frame.Length - EthernetFrame.HeaderLength);
        var (_, _, _, quoted) = ParseError(frame);
        Assert.True(Ipv4Packet.TryCreate(quoted, out var ip));
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.Equal(payload.AsSpan(0, udp.Payload.Length).ToArray(), udp.Payload.ToArray());
    }

    [Theory]
    [InlineData(ExtendedSocketError.OriginIcmp, IcmpPacket.TypeDestinationUnreachable, 4)] // fragmentation needed: the host's path MTU
    [InlineData(ExtendedSocketError.OriginIcmp, 11, 1)] // fragment reassembly time exceeded: the host's fragments
    [InlineData(ExtendedSocketError.OriginIcmp, 12, 0)] // parameter problem
    [InlineData(ExtendedSocketError.OriginLocal, 0, 0)] // the host's own (EMSGSIZE)
    [InlineData(ExtendedSocketError.OriginIcmp6, Icmpv6Packet.TypeDestinationUnreachable, 4)] // another family's
    public void Errors_that_are_not_a_destination_unreachable_stay_on_the_host(byte origin, byte type, byte code)
    {
        var flow = Send(Outside, 9, [1], out _);
        Stack.OnUdpError(flow, new ExtendedSocketError(Errno.EMSGSIZE, origin, type, code, 0, 0, 0), Outside, 9, Router, [1]);
        Assert.Empty(Sink.Take());
        Assert.Equal(0, Stack.Counters.IcmpErrorsRelayed);
    }

    [Fact]
    public void Relayed_errors_share_the_limit_of_a_hundred_a_second()
    {
        var flow = Send(Outside, 9, [1], out _);
        for (var i = 0; i < 150; i++)
        {
            Stack.OnUdpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, 3), Outside, 9, Outside, [1]);
        }

        Assert.Equal(100, Sink.Take().Count);
        Assert.Equal(100, Stack.Counters.IcmpErrorsRelayed);
        Time.Advance(TimeSpan.FromSeconds(1));
        Stack.OnUdpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, 3), Outside, 9, Outside, [1]);
        Assert.Single(Sink.Take());
    }

    [Fact]
    public void A_routers_host_unreachable_for_a_ping_quotes_the_guests_own_request()
    {
        var ping = GuestFrames.Ping(Outside, 0x77, 5);
        Stack.Input(ping);
        var flow = Assert.Single(NatHost.IcmpOpened);

        // A ping socket's request as the kernel sent it: its own identifier, the guest's sequence and data.
        var quoted = ping.AsSpan(EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength).ToArray();
        quoted[4] = 0x43;
        quoted[5] = 0x21;
        Stack.OnIcmpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeHostUnreachable, Errno.EHOSTUNREACH), Router, quoted);
        var (source, type, code, error) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal(Router, source);
        Assert.Equal((IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeHostUnreachable), (type, code));
        Assert.True(Ipv4Packet.TryCreate(error, out var ip));
        Assert.Equal((GuestFrames.Guest, Outside, IpProtocol.Icmp), (ip.Source, ip.Destination, ip.Protocol));
        Assert.Equal(ping.AsSpan(EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength).ToArray(), ip.Payload.ToArray()); // identifier 0x77 again, byte for byte
        Assert.Equal(1, Stack.Counters.IcmpErrorsRelayed);

        Stack.OnIcmpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeHostUnreachable), Router, quoted.AsSpan(0, 7));
        Stack.OnIcmpError(flow, Icmp(IcmpPacket.TypeDestinationUnreachable, 4), Router, quoted);
        Assert.Empty(Sink.Take()); // too short to be a request; the host's path MTU stays on the host
    }

    [Fact]
    public void An_icmpv6_no_route_for_a_ping_comes_from_the_router_quoting_the_request()
    {
        var outside6 = Guest6Frames.Parse("2001:db8::7");
        var router6 = Guest6Frames.Parse("2001:db8::1");
        var ping = Guest6Frames.Ping(outside6, id: 0x99, seq: 3);
        Stack.Input(ping);
        var (flow, request) = Assert.Single(Icmp6.Sent);

        var error = new ExtendedSocketError(Errno.ENETUNREACH, ExtendedSocketError.OriginIcmp6, Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodeNoRoute, 0, 0, 0);
        Stack.OnIcmpv6Error(flow, error, router6, request);
        var frame = Assert.Single(Sink.Take());
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip));
        Assert.Equal((router6, Guest6Frames.Guest), (ip.Source, ip.Destination));
        Assert.True(Icmpv6Packet.TryCreate(ip.Payload, out var icmp));
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal((Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodeNoRoute), (icmp.Header.Type, icmp.Header.Code));
        Assert.Equal(ping.AsSpan(EthernetFrame.HeaderLength).ToArray(), ip.Payload[Icmpv6Packet.HeaderLength..].ToArray()); // the guest's datagram, byte for byte
    }
}
