using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Services;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>UDP over IPv6: DHCPv6 first, then the NAT (<see cref="InputUdp6Nat"/>).</summary>
public sealed partial class UserStack
{
    private Dhcpv6Server? _dhcp6;

    private void InputUdp6(Ipv6Packet ip, int offset, MacAddress guestMac)
    {
        if (!UdpPacket.TryCreate(ip.Bytes[offset..], out var udp))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        var source = ip.Source;
        var destination = ip.Destination;
        if (!_inputChecksumVerified && !udp.VerifyChecksum(source, destination))
        {
            Counters.Drop(FrameDropReason.BadChecksum);
            return;
        }

        if (udp.DestinationPort == Dhcpv6Server.ServerPort && (destination == Ipv6Address.AllDhcpServers || IsVirtualAddress6(destination)))
        {
            InputDhcp6(source, udp.SourcePort, udp.Payload, guestMac);
            return;
        }

        InputUdp6Nat(ip, udp);
    }

    private void InputDhcp6(Ipv6Address client, ushort clientPort, ReadOnlySpan<byte> request, MacAddress clientMac)
    {
        _dhcp6 ??= new Dhcpv6Server(_options.Ipv6Dns, _dnsSearch6, VirtualMac.For(_options.Ipv6Host), _options.Ipv6DhcpAddress);
        if (client.IsUnspecified)
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        Span<byte> reply = stackalloc byte[_dhcp6.MaxReplyLength];
        var n = _dhcp6.Handle(request, reply, clientMac);
        if (n == 0)
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        // libslirp answers from the virtual host's address in the prefix.
        SendUdp6(_options.Ipv6Host, Dhcpv6Server.ServerPort, client, clientPort, reply[..n]);
    }

    /// <summary>The clients the DHCPv6 server gave the ipv6-dhcp-address to (for query-usernet).</summary>
    public void CopyDhcpv6Bindings(List<Dhcpv6Binding> into) => _dhcp6?.CopyBindings(into);

    /// <summary>One UDP datagram to the guest over IPv6.</summary>
    private void SendUdp6(Ipv6Address source, ushort sourcePort, Ipv6Address destination, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        var l4 = BeginIpv6(source, destination, IpProtocol.Udp, UdpPacket.HeaderLength + payload.Length, out var frame);
        if (l4.IsEmpty)
        {
            return;
        }

        UdpPacket.WriteHeader(l4, sourcePort, destinationPort, payload.Length);
        payload.CopyTo(l4[UdpPacket.HeaderLength..]);
        UdpPacket.CreateUnchecked(l4).FillChecksum(source, destination);
        Commit(frame, Ipv6Headers + l4.Length);
    }
}
