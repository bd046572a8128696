using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// ICMP errors the far end or a router sent about a guest's UDP datagram, relayed to the guest: a
/// closed port, an unreachable host or network. The host socket hears them on its error queue
/// (IP_RECVERR); the guest gets the same destination unreachable about the datagram it sent, its
/// headers rebuilt from the flow and the quoted payload, so its socket reports "connection refused"
/// or "unreachable" at once instead of waiting out a timeout, as on a real network. libslirp
/// relays what recvfrom reports (on Linux nothing, as its sockets are unconnected without
/// IP_RECVERR); a path MTU report is the host's own business and not relayed.
/// </summary>
public sealed partial class UserStack
{
    /// <summary>The most of the guest's payload a relayed IPv4 error quotes (RFC 1812's 576 bytes in all).</summary>
    internal const int MaxQuotedUdpPayload4 = MaxIcmpErrorDatagram - 2 * Ipv4Packet.MinimumHeaderLength - IcmpPacket.HeaderLength - UdpPacket.HeaderLength;

    /// <summary>The most an IPv6 one quotes (RFC 4443: the error within the minimum MTU).</summary>
    internal const int MaxQuotedUdpPayload6 = Icmpv6Packet.MaximumErrorLength - Icmpv6Packet.HeaderLength - Ipv6Packet.HeaderLength - UdpPacket.HeaderLength;

    /// <summary>
    /// An ICMP error came back for a datagram <paramref name="flow"/>'s host socket sent to
    /// <paramref name="destination"/>:<paramref name="port"/> (<paramref name="payload"/>: its
    /// start, as the error quoted it), from <paramref name="offender"/> (0.0.0.0: not known).
    /// </summary>
    internal void OnUdpError(UdpFlow flow, in ExtendedSocketError error, Ipv4Address destination, ushort port, Ipv4Address offender, ReadOnlySpan<byte> payload)
    {
        // Destination unreachable, but not "fragmentation needed": that is the host's path MTU.
        const byte FragmentationNeeded = 4;
        if (error.Origin != ExtendedSocketError.OriginIcmp || error.Type != IcmpPacket.TypeDestinationUnreachable ||
            error.Code == FragmentationNeeded || flow.IsIpv6)
        {
            return;
        }

        var seenDestination = SeenByGuest(flow, destination);
        payload = payload[..Math.Min(payload.Length, MaxQuotedUdpPayload4)];
        Span<byte> datagram = stackalloc byte[Ipv4Packet.MinimumHeaderLength + UdpPacket.HeaderLength + MaxQuotedUdpPayload4];
        var udpLength = UdpPacket.HeaderLength + payload.Length;
        Ipv4Packet.WriteHeader(datagram, flow.GuestAddress, seenDestination, IpProtocol.Udp, udpLength);
        var udp = datagram.Slice(Ipv4Packet.MinimumHeaderLength, udpLength);
        UdpPacket.WriteHeader(udp, flow.GuestPort, port, payload.Length);
        payload.CopyTo(udp[UdpPacket.HeaderLength..]);
        UdpPacket.CreateUnchecked(udp).FillChecksum(flow.GuestAddress, seenDestination);

        // From the host that said so, as the guest sees it; the destination when the kernel named none.
        var from = offender.IsAny ? seenDestination : SeenByGuest(flow, offender);
        var sent = IcmpErrorsSent;
        SendIcmpError(Ipv4Packet.CreateUnchecked(datagram[..(Ipv4Packet.MinimumHeaderLength + udpLength)]), error.Type, error.Code, from);
        Counters.UdpErrorsRelayed += IcmpErrorsSent - sent;
    }

    /// <summary><see cref="OnUdpError"/> for an IPv6 flow: an ICMPv6 destination unreachable, any code (:: offender: not known).</summary>
    internal void OnUdp6Error(UdpFlow flow, in ExtendedSocketError error, Ipv6Address destination, ushort port, Ipv6Address offender, ReadOnlySpan<byte> payload)
    {
        if (error.Origin != ExtendedSocketError.OriginIcmp6 || error.Type != Icmpv6Packet.TypeDestinationUnreachable || !flow.IsIpv6)
        {
            return;
        }

        var seenDestination = SeenByGuest6(flow, destination);
        payload = payload[..Math.Min(payload.Length, MaxQuotedUdpPayload6)];
        Span<byte> datagram = stackalloc byte[Ipv6Packet.HeaderLength + UdpPacket.HeaderLength + MaxQuotedUdpPayload6];
        var udpLength = UdpPacket.HeaderLength + payload.Length;
        Ipv6Packet.WriteHeader(datagram, flow.GuestAddress6, seenDestination, IpProtocol.Udp, udpLength);
        var udp = datagram.Slice(Ipv6Packet.HeaderLength, udpLength);
        UdpPacket.WriteHeader(udp, flow.GuestPort, port, payload.Length);
        payload.CopyTo(udp[UdpPacket.HeaderLength..]);
        UdpPacket.CreateUnchecked(udp).FillChecksum(flow.GuestAddress6, seenDestination);

        var from = offender.IsUnspecified ? seenDestination : SeenByGuest6(flow, offender);
        var sent = Icmpv6ErrorsSent;
        SendIcmpv6Error(datagram[..(Ipv6Packet.HeaderLength + udpLength)], error.Type, error.Code, 0, from: from);
        Counters.UdpErrorsRelayed += Icmpv6ErrorsSent - sent;
    }

    /// <summary>The guest-visible address of a host address a flow's datagrams went to or came from (loopback as the guest named it).</summary>
    private Ipv4Address SeenByGuest(UdpFlow flow, Ipv4Address host) =>
        host.IsLoopback && !flow.LoopbackSeenAs.IsAny ? flow.LoopbackSeenAs : MapFromHost(host);

    /// <summary><see cref="SeenByGuest"/> for an IPv6 flow.</summary>
    private Ipv6Address SeenByGuest6(UdpFlow flow, Ipv6Address host) =>
        host.IsLoopback && !flow.LoopbackSeenAs6.IsUnspecified ? flow.LoopbackSeenAs6 : MapFromHost6(host);
}
