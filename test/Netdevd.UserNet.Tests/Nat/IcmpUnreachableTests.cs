using Netdevd.Native;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// What the host cannot route is the guest's to know at once, as libslirp tells it over IPv4
/// (icmp_send_error from udp_input, icmp_input and tcp_input): an ICMP destination unreachable
/// from the virtual host quoting the guest's datagram, never about a broadcast, at most 100 a second.
/// </summary>
public sealed class IcmpUnreachableTests : NatStackHarness
{
    private static readonly Ipv4Address Outside = Ipv4Address.Create(203, 0, 113, 1);

    /// <summary>The ICMP error in <paramref name="frame"/>, from the virtual host to the guest, its checksums verified.</summary>
    private static (byte Type, byte Code, byte[] Quoted) ParseError(byte[] frame)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.Equal(EtherType.Ipv4, eth.EtherType);
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
        Assert.True(ip.VerifyChecksum());
        Assert.Equal(GuestFrames.Host, ip.Source);
        Assert.Equal(GuestFrames.Guest, ip.Destination);
        Assert.Equal(IpProtocol.Icmp, ip.Protocol);
        Assert.True(IcmpPacket.TryCreate(ip.Payload, out var icmp));
        Assert.True(icmp.VerifyChecksum());
        return (icmp.Header.Type, icmp.Header.Code, ip.Payload[IcmpPacket.HeaderLength..].ToArray());
    }

    /// <summary>The IPv4 datagram of a frame the guest sent (what an error quotes).</summary>
    private static byte[] Datagram(byte[] frame) => frame.AsSpan(EthernetFrame.HeaderLength).ToArray();

    [Fact]
    public void A_udp_datagram_the_host_cannot_route_is_answered_with_a_network_unreachable()
    {
        NatHost.UdpUnreachable = true;
        var datagram = GuestFrames.Udp(Outside, 5001, 9, [1, 2, 3]);
        Stack.Input(datagram);
        Assert.Single(NatHost.UdpSent);
        var (type, code, quoted) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal(IcmpPacket.TypeDestinationUnreachable, type);
        Assert.Equal(IcmpPacket.CodeNetUnreachable, code);
        Assert.Equal(Datagram(datagram), quoted);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.HostSocketFailed));

        NatHost.UdpUnreachable = false;
        Stack.Input(GuestFrames.Udp(Outside, 5001, 9, [4]));
        Assert.Empty(Sink.Take()); // sent: nothing to say
    }

    [Fact]
    public void A_host_without_the_family_answers_udp_with_a_network_unreachable_and_one_out_of_descriptors_drops_it()
    {
        NatHost.UdpOpenError = Errno.EAFNOSUPPORT;
        var datagram = GuestFrames.Udp(Outside, 5002, 9, [1, 2, 3]);
        Stack.Input(datagram);
        var (type, code, quoted) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal((IcmpPacket.TypeDestinationUnreachable, IcmpPacket.CodeNetUnreachable), (type, code));
        Assert.Equal(Datagram(datagram), quoted);
        Assert.Equal(0, Stack.UdpFlowCount);

        NatHost.UdpOpenError = Errno.EMFILE;
        Stack.Input(GuestFrames.Udp(Outside, 5003, 9, [1]));
        Assert.Empty(Sink.Take()); // lost, as libslirp's udp_input drops it
        Assert.Equal(2, Stack.Counters.Drops(FrameDropReason.HostSocketFailed));
    }

    [Fact]
    public void A_ping_the_host_cannot_route_is_answered_with_a_network_unreachable()
    {
        NatHost.IcmpUnreachable = true;
        var ping = GuestFrames.Ping(Outside, 77, 1);
        Stack.Input(ping);
        Assert.Equal(1, NatHost.IcmpSent);
        var (type, code, quoted) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal(IcmpPacket.TypeDestinationUnreachable, type);
        Assert.Equal(IcmpPacket.CodeNetUnreachable, code);
        Assert.Equal(Datagram(ping), quoted);
    }

    [Fact]
    public void A_connect_the_host_cannot_route_gets_an_unreachable_quoting_the_syn_and_a_refused_one_a_reset()
    {
        Stack.Input(GuestFrames.Tcp(Outside, 40006, 443, 7000, 0, TcpFlags.Syn));
        Stack.OnTcpConnectFailed(NatHost.Opened[0].Connection, Errno.ENETUNREACH);
        var (type, code, quoted) = ParseError(Assert.Single(Sink.Take()));
        Assert.Equal(IcmpPacket.TypeDestinationUnreachable, type);
        Assert.Equal(IcmpPacket.CodeNetUnreachable, code);
        Assert.True(Ipv4Packet.TryCreate(quoted, out var syn));
        Assert.Equal(GuestFrames.Guest, syn.Source);
        Assert.Equal(Outside, syn.Destination);
        Assert.True(TcpPacket.TryCreate(syn.Payload, out var tcp));
        Assert.Equal((ushort)40006, tcp.SourcePort);
        Assert.Equal((ushort)443, tcp.DestinationPort);
        Assert.Equal(7000u, tcp.SequenceNumber);
        Assert.Equal(TcpFlags.Syn, tcp.Flags);
        Assert.Equal(0, Stack.TcpFlowCount);

        Stack.Input(GuestFrames.Tcp(Outside, 40007, 443, 8000, 0, TcpFlags.Syn));
        Stack.OnTcpConnectFailed(NatHost.Opened[1].Connection, Errno.EHOSTUNREACH);
        Assert.Equal(IcmpPacket.CodeHostUnreachable, ParseError(Assert.Single(Sink.Take())).Code);

        Stack.Input(GuestFrames.Tcp(Outside, 40008, 443, 9000, 0, TcpFlags.Syn));
        Stack.OnTcpConnectFailed(NatHost.Opened[2].Connection, Errno.ECONNREFUSED);
        var rst = ParseTcp(Assert.Single(Sink.Take()));
        Assert.True(rst.Flags.HasFlag(TcpFlags.Rst)); // refused: a reset, as libslirp
    }

    [Fact]
    public void At_most_a_hundred_errors_go_in_a_second()
    {
        NatHost.UdpUnreachable = true;
        for (var i = 0; i < 150; i++)
        {
            Stack.Input(GuestFrames.Udp(Outside, 5001, 9, [(byte)i]));
        }

        Assert.Equal(100, Sink.Take().Count);
        Assert.Equal(150, Stack.Counters.Drops(FrameDropReason.HostSocketFailed)); // each one counted

        Time.Advance(TimeSpan.FromSeconds(1));
        Stack.Input(GuestFrames.Udp(Outside, 5001, 9, [1]));
        Assert.Single(Sink.Take());
        Assert.Equal(101, Stack.IcmpErrorsSent);
    }
}
