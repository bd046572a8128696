using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>hostfwd clients reach the guest from their own address and port (libslirp's sotranslate_accept); loopback ones from the virtual host.</summary>
public sealed class ForwardedClientTests : NatStackHarness
{
    private static readonly Ipv4Address Client = Ipv4Address.Create(198, 51, 100, 7);

    /// <summary>The one segment the stack sent the guest: its source end and sequence number.</summary>
    private (Ipv4Address Source, ushort SourcePort, ushort DestinationPort, uint Sequence) TakeTcp()
    {
        var tcp = ParseTcp(Assert.Single(Sink.Take()), out var source);
        return (source, tcp.SourcePort, tcp.DestinationPort, tcp.SequenceNumber);
    }

    [Fact]
    public void A_tcp_client_keeps_its_address_and_port_and_the_guest_answers_it()
    {
        var connection = Stack.OpenForward(GuestFrames.Guest, 22, Client, 40000, new NoSocket());
        Assert.NotNull(connection);
        var syn = TakeTcp();
        Assert.Equal(Client, syn.Source);
        Assert.Equal((ushort)40000, syn.SourcePort);
        Assert.Equal((ushort)22, syn.DestinationPort);

        // The guest's SYN-ACK, sent to the client's address through its gateway, finds the connection.
        Stack.Input(GuestFrames.Tcp(Client, 22, 40000, 1000, syn.Sequence + 1, TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(TcpState.Established, connection.State);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.3.4.5")]
    [InlineData("0.0.0.0")]
    public void A_loopback_or_unspecified_client_is_the_virtual_host_with_its_own_port(string client)
    {
        Assert.True(Ipv4Address.TryParse(client, out var address));
        Assert.NotNull(Stack.OpenForward(GuestFrames.Guest, 22, address, 41000, new NoSocket()));
        var syn = TakeTcp();
        Assert.Equal(GuestFrames.Host, syn.Source);
        Assert.Equal((ushort)41000, syn.SourcePort);
    }

    [Fact]
    public void Two_loopback_clients_with_one_port_get_two_connections()
    {
        var first = Stack.OpenForward(GuestFrames.Guest, 22, Ipv4Address.Loopback, 41000, new NoSocket());
        var second = Stack.OpenForward(GuestFrames.Guest, 22, Ipv4Address.Create(127, 0, 0, 2), 41000, new NoSocket());
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.NotEqual(first.Address, second.Address);
        Assert.Equal(2, Stack.TcpFlowCount);
    }

    [Fact]
    public void A_udp_client_keeps_its_address_and_the_guests_answer_goes_back_to_it()
    {
        UdpForwardFlow? answered = null;
        byte[] answer = [];
        Stack.SetUdpForwardReply((flow, payload) =>
        {
            answered = flow;
            answer = payload.ToArray();
        });
        var flow = Stack.OpenUdpForward(GuestFrames.Guest, 5353, Client, 40001, new object());
        Assert.NotNull(flow);
        Stack.OnUdpForwardDatagram(flow, [1, 2, 3]);
        Assert.True(EthernetFrame.TryCreate(Assert.Single(Sink.Take()), out var eth));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.Equal(Client, ip.Source);
        Assert.Equal((ushort)40001, udp.SourcePort);
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));

        Stack.Input(GuestFrames.Udp(Client, 5353, 40001, [4, 5]));
        Assert.Same(flow, answered);
        Assert.Equal([4, 5], answer);
        Assert.Equal(0, Stack.UdpFlowCount); // not a NAT flow of the guest's own
    }

    [Fact]
    public void A_loopback_udp_client_is_the_virtual_host()
    {
        var flow = Stack.OpenUdpForward(GuestFrames.Guest, 5353, Ipv4Address.Loopback, 40002, new object());
        Assert.NotNull(flow);
        Assert.Equal(GuestFrames.Host, flow.ForeignAddress);
        Assert.Equal((ushort)40002, flow.ForeignPort);
    }

    [Fact]
    public void Clients_of_a_forward_hold_at_most_half_the_tcp_flows_and_the_guest_keeps_the_rest()
    {
        Recreate(new UserStackOptions { Limits = new NatLimits { MaxTcpFlows = 8 } });

        // Eight clients of a published port, each keeping its connection: four get one.
        var opened = 0;
        for (ushort i = 0; i < 8; i++)
        {
            opened += Stack.OpenForward(GuestFrames.Guest, 22, Client, (ushort)(40000 + i), new NoSocket()) is null ? 0 : 1;
        }

        Assert.Equal(4, opened);
        Assert.Equal(4, Stack.Counters.Drops(FrameDropReason.TcpFlowLimit));

        // The guest's own outbound connections still get the other four.
        Sink.Take();
        for (ushort i = 0; i < 4; i++)
        {
            Stack.Input(GuestFrames.Tcp(GuestFrames.Host, (ushort)(50000 + i), 80, 100, 0, TcpFlags.Syn));
        }

        Assert.Equal(4, NatHost.Opened.Count);
        Assert.Equal(8, Stack.TcpFlowCount);
        Assert.Equal(4, Stack.Counters.Drops(FrameDropReason.TcpFlowLimit));
    }

    /// <summary>A host socket that does nothing (the stack side alone is under test).</summary>
    private sealed class NoSocket : ITcpHostSocket
    {
        public void Sync()
        {
        }

        public void Close()
        {
        }

        public int SendNow(ReadOnlySpan<byte> data) => 0;
    }
}
