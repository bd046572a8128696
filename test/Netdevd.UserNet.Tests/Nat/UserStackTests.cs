using System.Net;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

public sealed class UserStackTests : NatStackHarness
{
    private static Ipv4Packet Parse(byte[] frame) => Parse(frame, out _);

    private static Ipv4Packet Parse(byte[] frame, out MacAddress destination)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.Equal(EtherType.Ipv4, eth.EtherType);
        destination = eth.Destination;
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
        Assert.True(ip.VerifyChecksum());
        return ip;
    }

    private static TcpPacket ParseTcp(byte[] frame, out Ipv4Packet ip)
    {
        ip = Parse(frame);
        Assert.True(TcpPacket.TryCreate(ip.Payload, out var tcp));
        Assert.True(tcp.VerifyChecksum(ip.Source, ip.Destination));
        return tcp;
    }

    [Theory]
    [InlineData(255, 255, 255, 255, TcpFlags.Syn)]
    [InlineData(224, 0, 0, 1, TcpFlags.Ack)]
    [InlineData(239, 1, 2, 3, TcpFlags.Syn)]
    public void A_segment_to_a_broadcast_or_multicast_address_is_dropped_without_a_reset(byte a, byte b, byte c, byte d, TcpFlags flags)
    {
        // RFC 9293 3.10.7.1: no connection, and no reset from a group or broadcast address.
        Stack.Input(GuestFrames.Tcp(Ipv4Address.Create(a, b, c, d), 40002, 80, 100, 1, flags));
        Assert.Empty(Sink.Take());
        Assert.Empty(NatHost.Opened);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.NotForUs));
    }

    [Fact]
    public void Arp_for_the_virtual_host_is_answered()
    {
        Stack.Input(GuestFrames.ArpRequest(GuestFrames.Host));
        var reply = Assert.Single(Sink.Take());
        Assert.True(EthernetFrame.TryCreate(reply, out var eth));
        Assert.True(ArpPacket.TryCreate(eth.Payload, out var arp));
        Assert.Equal(ArpPacket.OperationReply, arp.Operation);
        Assert.Equal(GuestFrames.Host, arp.SenderProtocolAddress);
    }

    [Fact]
    public void Ping_of_the_virtual_host_is_answered_here_and_padded_to_60_bytes()
    {
        Stack.Input(GuestFrames.Ping(GuestFrames.Host, 77, 3, dataLength: 0));
        var frame = Assert.Single(Sink.Take());
        Assert.Equal(60, frame.Length);
        var ip = Parse(frame, out var destination);
        Assert.Equal(GuestFrames.GuestMac, destination);
        Assert.Equal(GuestFrames.Host, ip.Source);
        Assert.True(IcmpPacket.TryCreate(ip.Payload, out var icmp));
        Assert.Equal(IcmpPacket.TypeEchoReply, icmp.Header.Type);
        Assert.Equal(77, icmp.Header.Identifier);
        Assert.True(icmp.VerifyChecksum());
        Assert.Equal(0, NatHost.IcmpSent);
    }

    [Fact]
    public void Ping_of_the_outside_goes_through_a_host_icmp_socket_or_is_counted_when_there_is_none()
    {
        Stack.Input(GuestFrames.Ping(Ipv4Address.Create(192, 0, 2, 1), 1, 1));
        Assert.Equal(1, NatHost.IcmpSent);
        NatHost.IcmpAvailable = false;
        Stack.Input(GuestFrames.Ping(Ipv4Address.Create(192, 0, 2, 9), 1, 1));
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.IcmpUnavailable));
    }

    [Fact]
    public void Dns_over_tcp_goes_to_the_first_nameserver_with_the_others_to_try_in_turn()
    {
        IPEndPoint first = new(IPAddress.Parse("127.0.0.53"), 53), second = new(IPAddress.Parse("192.0.2.1"), 53), third = new(IPAddress.IPv6Loopback, 5353);
        Stack.Dns = new Netdevd.UserNet.Services.Dns.DnsForwarder([first, second, third], new NoUpstream());
        Stack.Input(GuestFrames.Tcp(Ipv4Address.Create(10, 0, 2, 3), 40000, 53, 100, 0, TcpFlags.Syn));
        var target = Assert.IsType<HostTarget.Tcp>(Assert.Single(NatHost.Opened).Target);
        Assert.Equal(first, target.EndPoint);
        Assert.Equal([second, third], target.Then);

        Stack.Dns = new Netdevd.UserNet.Services.Dns.DnsForwarder([first], new NoUpstream());
        Stack.Input(GuestFrames.Tcp(Ipv4Address.Create(10, 0, 2, 3), 40001, 53, 100, 0, TcpFlags.Syn));
        target = Assert.IsType<HostTarget.Tcp>(NatHost.Opened[1].Target);
        Assert.Equal(first, target.EndPoint);
        Assert.Null(target.Then);
    }

    private sealed class NoUpstream : Netdevd.UserNet.Services.Dns.IDnsUpstream
    {
        public bool Send(IPEndPoint resolver, ReadOnlySpan<byte> query) => true;
    }

    [Fact]
    public void A_connection_to_the_virtual_host_goes_to_host_loopback_and_is_answered_after_the_connect()
    {
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 100, 0, TcpFlags.Syn, options: new TcpOptions { MaximumSegmentSize = 1460 }));
        var (connection, target) = Assert.Single(NatHost.Opened);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), Assert.IsType<HostTarget.Tcp>(target).EndPoint);
        Assert.Empty(Sink.Frames);

        Stack.OnTcpConnected(connection, true);
        var tcp = ParseTcp(Assert.Single(Sink.Take()), out var ip);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, tcp.Flags);
        Assert.Equal(101u, tcp.AcknowledgmentNumber);
        Assert.Equal(GuestFrames.Host, ip.Source);
        Assert.Equal((ushort)8080, tcp.SourcePort);
        Assert.True(ip.DontFragment);
    }

    [Fact]
    public void A_refused_connect_becomes_a_reset_and_the_flow_is_freed()
    {
        Stack.Input(GuestFrames.Tcp(Ipv4Address.Create(192, 0, 2, 5), 40001, 80, 100, 0, TcpFlags.Syn));
        Stack.OnTcpConnected(NatHost.Opened[0].Connection, false);
        var tcp = ParseTcp(Assert.Single(Sink.Take()), out _);
        Assert.True(tcp.Rst);
        Assert.Equal(0, Stack.TcpFlowCount);
        Assert.Single(NatHost.Closed);
    }

    [Fact]
    public void A_segment_of_no_connection_gets_a_reset()
    {
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40002, 80, 100, 555, TcpFlags.Ack));
        var tcp = ParseTcp(Assert.Single(Sink.Take()), out _);
        Assert.True(tcp.Rst);
        Assert.Equal(555u, tcp.SequenceNumber);
    }

    [Fact]
    public void The_tcp_flow_table_is_bounded_and_refusals_are_counted()
    {
        Recreate(new UserStackOptions { Limits = new NatLimits { MaxTcpFlows = 1 } });
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 80, 100, 0, TcpFlags.Syn));
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40001, 80, 100, 0, TcpFlags.Syn));
        Assert.Single(NatHost.Opened);
        Assert.True(ParseTcp(Assert.Single(Sink.Take()), out _).Rst);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.TcpFlowLimit));
    }

    [Fact]
    public void Restrict_refuses_the_outside_but_keeps_guest_forwards_and_virtual_pings()
    {
        var server = Ipv4Address.Create(10, 0, 2, 100);
        var target = new HostTarget.Tcp(new IPEndPoint(IPAddress.Loopback, 4321));
        Recreate(new UserStackOptions { Restrict = true, GuestForwards = [new GuestForwardRule("tcp:10.0.2.100:80-tcp:127.0.0.1:4321", server, 80, target)] });

        Stack.Input(GuestFrames.Tcp(Ipv4Address.Create(192, 0, 2, 5), 40000, 80, 100, 0, TcpFlags.Syn));
        Assert.True(ParseTcp(Assert.Single(Sink.Take()), out _).Rst);
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 22, 100, 0, TcpFlags.Syn));
        Assert.True(ParseTcp(Assert.Single(Sink.Take()), out _).Rst);
        Stack.Input(GuestFrames.Udp(Ipv4Address.Create(192, 0, 2, 5), 5000, 53, [1, 2, 3]));
        Assert.Empty(NatHost.UdpSent);
        Stack.Input(GuestFrames.Ping(Ipv4Address.Create(192, 0, 2, 5), 1, 1));
        Assert.Equal(0, NatHost.IcmpSent);
        Assert.Equal(4, Stack.Counters.Drops(FrameDropReason.Restricted));

        Stack.Input(GuestFrames.Tcp(server, 40000, 80, 100, 0, TcpFlags.Syn));
        Assert.Same(target, Assert.Single(NatHost.Opened).Target);
        Stack.Input(GuestFrames.Ping(GuestFrames.Host, 1, 1));
        Assert.Single(Sink.Take());
    }

    [Fact]
    public void Udp_flows_go_out_and_answers_from_loopback_come_from_the_virtual_host()
    {
        Stack.Input(GuestFrames.Udp(GuestFrames.Host, 5000, 7777, [1, 2, 3]));
        var sent = Assert.Single(NatHost.UdpSent);
        Assert.Equal(Ipv4Address.Loopback, sent.Destination);
        Assert.Equal((ushort)7777, sent.Port);
        Assert.Equal(1, Stack.UdpFlowCount);

        var flowField = typeof(UserStack).GetField("_udp", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var flows = (FlowTable<(Ipv4Address, ushort), UdpFlow>)flowField.GetValue(Stack)!;
        Stack.OnUdpReceived(flows.Flows.Single(), Ipv4Address.Loopback, 7777, [9, 8]);
        var ip = Parse(Assert.Single(Sink.Take()));
        Assert.Equal(GuestFrames.Host, ip.Source);
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.Equal((ushort)5000, udp.DestinationPort);
        Assert.Equal([9, 8], udp.Payload.ToArray());
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
    }

    [Fact]
    public void The_host_alias_leads_to_loopback_without_host_loopback_and_udp_answers_come_from_it()
    {
        var alias = Ipv4Address.Create(169, 254, 1, 2);
        Recreate(new UserStackOptions { HostLoopback = false, HostAlias = alias });

        Stack.Input(GuestFrames.Tcp(alias, 40000, 8080, 100, 0, TcpFlags.Syn));
        var opened = Assert.IsType<HostTarget.Tcp>(Assert.Single(NatHost.Opened).Target);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), opened.EndPoint);

        Stack.Input(GuestFrames.Udp(GuestFrames.Host, 5000, 7777, [1]));
        Assert.Empty(NatHost.UdpSent);
        Stack.Input(GuestFrames.Udp(alias, 5000, 7777, [1, 2, 3]));
        Assert.Equal(Ipv4Address.Loopback, Assert.Single(NatHost.UdpSent).Destination);
        var flowField = typeof(UserStack).GetField("_udp", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var flows = (FlowTable<(Ipv4Address, ushort), UdpFlow>)flowField.GetValue(Stack)!;
        Stack.OnUdpReceived(flows.Flows.Single(), Ipv4Address.Loopback, 7777, [9, 8]);
        Assert.Equal(alias, Parse(Assert.Single(Sink.Take())).Source);
    }

    [Fact]
    public void Idle_udp_flows_expire()
    {
        Stack.Input(GuestFrames.Udp(Ipv4Address.Create(192, 0, 2, 5), 5000, 9, [1]));
        Assert.Equal(1, Stack.UdpFlowCount);
        Time.Advance(TimeSpan.FromSeconds(239));
        Stack.Poll();
        Assert.Equal(1, Stack.UdpFlowCount);
        Time.Advance(TimeSpan.FromSeconds(2));
        Stack.Poll();
        Assert.Equal(0, Stack.UdpFlowCount);
    }

    [Fact]
    public void A_batch_of_guest_segments_is_answered_once_with_a_cumulative_ack()
    {
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 100, 0, TcpFlags.Syn));
        var connection = NatHost.Opened[0].Connection;
        Stack.OnTcpConnected(connection, true);
        var synAck = ParseTcp(Sink.Take()[0], out _);
        var ourNext = synAck.SequenceNumber + 1;
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 101, ourNext, TcpFlags.Ack));
        Sink.Take();

        Stack.BeginInputBatch();
        for (var i = 0; i < 3; i++)
        {
            Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, (uint)(101 + (i * 100)), ourNext, TcpFlags.Ack, new byte[100]));
        }

        Assert.Empty(Sink.Take());
        Stack.EndInputBatch();

        var ack = ParseTcp(Assert.Single(Sink.Take()), out _);
        Assert.True(ack.Ack);
        Assert.Equal(401u, ack.AcknowledgmentNumber);

        // Outside a batch every segment is answered at once, as before.
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 401, ourNext, TcpFlags.Ack, new byte[100]));
        Assert.Equal(501u, ParseTcp(Assert.Single(Sink.Take()), out _).AcknowledgmentNumber);
    }

    [Fact]
    public void A_fragmented_udp_datagram_is_reassembled_in_any_order()
    {
        var payload = new byte[4000];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 13);
        }

        var pieces = GuestFrames.Fragment(GuestFrames.Udp(GuestFrames.Host, 5000, 7777, payload), 1480);
        Assert.Equal(3, pieces.Count);
        Stack.Input(pieces[2]);
        Stack.Input(pieces[0]);
        Assert.Empty(NatHost.UdpSent);
        Stack.Input(pieces[0]); // a duplicate piece is harmless
        Stack.Input(pieces[1]);

        var sent = Assert.Single(NatHost.UdpSent);
        Assert.Equal(payload, sent.Payload);
        Assert.Equal(0, Stack.Counters.TotalDrops);
    }

    [Fact]
    public void Incomplete_fragments_expire_and_are_counted()
    {
        var pieces = GuestFrames.Fragment(GuestFrames.Udp(GuestFrames.Host, 5000, 7777, new byte[3000]), 1480);
        Stack.Input(pieces[0]);
        Assert.True(Stack.HasTimers);

        Time.Advance(TimeSpan.FromSeconds(31));
        Stack.Poll();
        Stack.Input(pieces[1]);
        Stack.Input(pieces[2]);

        Assert.Empty(NatHost.UdpSent);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.FragmentTimeout));
    }

    [Fact]
    public void Fragmented_datagrams_in_progress_are_bounded()
    {
        var limit = new NatLimits().MaxFragmentedDatagrams;
        for (var id = 0; id <= limit; id++)
        {
            var first = GuestFrames.Fragment(GuestFrames.Udp(GuestFrames.Host, 5000, 7777, new byte[3000]), 1480, (ushort)id)[0];
            Stack.Input(first);
        }

        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.FragmentLimit));
    }

    [Fact]
    public void Fragments_that_contradict_each_other_and_bad_checksums_are_dropped_with_their_reason()
    {
        // A middle piece whose length is not a multiple of 8 cannot be part of a datagram.
        Stack.Input(GuestFrames.Ip(GuestFrames.Host, IpProtocol.Udp, new byte[15], moreFragments: true));
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Fragment));
        var bad = GuestFrames.Udp(GuestFrames.Host, 5000, 7777, [1, 2, 3]);
        bad[^1] ^= 0xFF;
        Stack.Input(bad);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.BadChecksum));
        Assert.Empty(NatHost.UdpSent);
    }

    [Fact]
    public void Host_data_flows_to_the_guest_through_the_connection()
    {
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 100, 0, TcpFlags.Syn, options: new TcpOptions { MaximumSegmentSize = 1460 }));
        var connection = NatHost.Opened[0].Connection;
        Stack.OnTcpConnected(connection, true);
        var synAck = ParseTcp(Sink.Take()[0], out _);
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 101, synAck.SequenceNumber + 1, TcpFlags.Ack));
        Assert.Equal(TcpState.Established, connection.State);

        var space = connection.HostReadBuffer();
        new byte[3000].AsSpan().Fill(0x42);
        space.AsSpan(0, 3000).Fill(0x42);
        Stack.OnTcpReceived(connection, 3000);
        var frames = Sink.Take();
        Assert.Equal(3, frames.Count); // 1460 + 1460 + 80
        Assert.Equal(1460, ParseTcp(frames[0], out _).Payload.Length);
    }
}
