using Netdevd.Native;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// ICMP errors the far end or a router sent about a guest's UDP datagram or echo request, relayed
/// to the guest: a closed port, an unreachable host or network, a hop's time exceeded (a guest's
/// traceroute, <c>UserStack.RouterHop.cs</c>). The host socket hears them on its
/// error queue (IP_RECVERR); the guest gets the same destination unreachable about the datagram it
/// sent, its headers rebuilt from the flow and the quoted bytes, so its socket reports "connection
/// refused" or "unreachable" and its ping "Destination Host Unreachable" at once instead of
/// waiting out a timeout, as on a real network. libslirp relays what recvfrom reports (on Linux
/// nothing, as its sockets are unconnected without IP_RECVERR); a path MTU report is the host's
/// own business and not relayed.
/// </summary>
public sealed partial class UserStack
{
    /// <summary>The most of the guest's transport header and payload a relayed IPv4 error quotes (RFC 1812's 576 bytes in all).</summary>
    internal const int MaxQuotedTransport4 = MaxIcmpErrorDatagram - 2 * Ipv4Packet.MinimumHeaderLength - IcmpPacket.HeaderLength;

    /// <summary>The most an IPv6 one quotes (RFC 4443: the error within the minimum MTU).</summary>
    internal const int MaxQuotedTransport6 = Icmpv6Packet.MaximumErrorLength - Icmpv6Packet.HeaderLength - Ipv6Packet.HeaderLength;

    /// <summary>
    /// An ICMP error came back for a datagram <paramref name="flow"/>'s host socket sent to
    /// <paramref name="destination"/>:<paramref name="port"/> (<paramref name="payload"/>: its
    /// start, as the error quoted it), from <paramref name="offender"/> (0.0.0.0: not known).
    /// </summary>
    internal void OnUdpError(UdpFlow flow, in ExtendedSocketError error, Ipv4Address destination, ushort port, Ipv4Address offender, ReadOnlySpan<byte> payload)
    {
        if (!IsRelayed(error) || flow.IsIpv6)
        {
            return;
        }

        var seenDestination = SeenByGuest(flow, destination);
        payload = payload[..Math.Min(payload.Length, MaxQuotedTransport4 - UdpPacket.HeaderLength)];
        Span<byte> datagram = stackalloc byte[Ipv4Packet.MinimumHeaderLength + MaxQuotedTransport4];
        var udpLength = UdpPacket.HeaderLength + payload.Length;
        Ipv4Packet.WriteHeader(datagram, flow.GuestAddress, seenDestination, IpProtocol.Udp, udpLength);
        var udp = datagram.Slice(Ipv4Packet.MinimumHeaderLength, udpLength);
        UdpPacket.WriteHeader(udp, flow.GuestPort, port, payload.Length);
        payload.CopyTo(udp[UdpPacket.HeaderLength..]);
        UdpPacket.CreateUnchecked(udp).FillChecksum(flow.GuestAddress, seenDestination);

        // From the host that said so, as the guest sees it; the destination when the kernel named none.
        var from = offender.IsAny ? seenDestination : SeenByGuest(flow, offender);
        Relay(datagram[..(Ipv4Packet.MinimumHeaderLength + udpLength)], error, from);
    }

    /// <summary><see cref="OnUdpError"/> for an IPv6 flow, with ICMPv6's errors (:: offender: not known).</summary>
    internal void OnUdp6Error(UdpFlow flow, in ExtendedSocketError error, Ipv6Address destination, ushort port, Ipv6Address offender, ReadOnlySpan<byte> payload)
    {
        if (!IsRelayed6(error) || !flow.IsIpv6)
        {
            return;
        }

        var seenDestination = SeenByGuest6(flow, destination);
        payload = payload[..Math.Min(payload.Length, MaxQuotedTransport6 - UdpPacket.HeaderLength)];
        Span<byte> datagram = stackalloc byte[Ipv6Packet.HeaderLength + MaxQuotedTransport6];
        var udpLength = UdpPacket.HeaderLength + payload.Length;
        Ipv6Packet.WriteHeader(datagram, flow.GuestAddress6, seenDestination, IpProtocol.Udp, udpLength);
        var udp = datagram.Slice(Ipv6Packet.HeaderLength, udpLength);
        UdpPacket.WriteHeader(udp, flow.GuestPort, port, payload.Length);
        payload.CopyTo(udp[UdpPacket.HeaderLength..]);
        UdpPacket.CreateUnchecked(udp).FillChecksum(flow.GuestAddress6, seenDestination);

        var from = offender.IsUnspecified ? seenDestination : SeenByGuest6(flow, offender);
        Relay6(datagram[..(Ipv6Packet.HeaderLength + udpLength)], error, from);
    }

    /// <summary>
    /// An ICMP error came back for an echo request <paramref name="flow"/>'s host socket sent
    /// (<paramref name="quoted"/>: the request's ICMP header and data as the error quoted them; on a
    /// ping socket the kernel's identifier), from <paramref name="offender"/> (0.0.0.0: not known).
    /// </summary>
    internal void OnIcmpError(IcmpFlow flow, in ExtendedSocketError error, Ipv4Address offender, ReadOnlySpan<byte> quoted)
    {
        if (!IsRelayed(error) || quoted.Length < IcmpPacket.HeaderLength)
        {
            return;
        }

        quoted = quoted[..Math.Min(quoted.Length, MaxQuotedTransport4)];
        Span<byte> datagram = stackalloc byte[Ipv4Packet.MinimumHeaderLength + MaxQuotedTransport4];
        Ipv4Packet.WriteHeader(datagram, flow.GuestAddress, flow.ForeignAddress, IpProtocol.Icmp, quoted.Length);
        var echo = datagram.Slice(Ipv4Packet.MinimumHeaderLength, quoted.Length);
        RebuildEchoRequest(echo, quoted, IcmpPacket.TypeEchoRequest, flow.Identifier);
        IcmpPacket.CreateUnchecked(echo).FillChecksum();
        var from = offender.IsAny || offender == flow.HostDestination ? flow.ForeignAddress : MapFromHost(offender);
        Relay(datagram[..(Ipv4Packet.MinimumHeaderLength + quoted.Length)], error, from);
    }

    /// <summary><see cref="OnIcmpError"/> for an ICMPv6 echo flow (:: offender: not known).</summary>
    internal void OnIcmpv6Error(Icmpv6Flow flow, in ExtendedSocketError error, Ipv6Address offender, ReadOnlySpan<byte> quoted)
    {
        if (!IsRelayed6(error) || quoted.Length < Icmpv6Packet.HeaderLength)
        {
            return;
        }

        quoted = quoted[..Math.Min(quoted.Length, MaxQuotedTransport6)];
        Span<byte> datagram = stackalloc byte[Ipv6Packet.HeaderLength + MaxQuotedTransport6];
        Ipv6Packet.WriteHeader(datagram, flow.GuestAddress, flow.Destination, IpProtocol.Icmpv6, quoted.Length);
        var echo = datagram.Slice(Ipv6Packet.HeaderLength, quoted.Length);
        RebuildEchoRequest(echo, quoted, Icmpv6Packet.TypeEchoRequest, flow.Identifier);
        Icmpv6Packet.CreateUnchecked(echo).FillChecksum(flow.GuestAddress, flow.Destination);
        Relay6(datagram[..(Ipv6Packet.HeaderLength + quoted.Length)], error, offender.IsUnspecified ? flow.Destination : MapFromHost6(offender));
    }

    /// <summary>The guest's echo request as it sent it: the quoted sequence and data under its own type and identifier.</summary>
    private static void RebuildEchoRequest(Span<byte> echo, ReadOnlySpan<byte> quoted, byte type, ushort identifier)
    {
        quoted.CopyTo(echo);
        var header = IcmpHeader.CreateUnchecked(echo);
        header.Type = type;
        header.Code = 0;
        header.Identifier = identifier;
    }

    /// <summary>
    /// An IPv4 error worth the guest's knowing: destination unreachable, but not "fragmentation
    /// needed" (the host's path MTU); a TTL run out in transit (a traceroute's hop, <c>UserStack.RouterHop.cs</c>).
    /// </summary>
    private static bool IsRelayed(in ExtendedSocketError error)
    {
        const byte FragmentationNeeded = 4;
        const byte TtlExceededInTransit = 0;
        return error.Origin == ExtendedSocketError.OriginIcmp &&
            ((error.Type == IcmpPacket.TypeDestinationUnreachable && error.Code != FragmentationNeeded) ||
             (error.Type == IcmpPacket.TypeTimeExceeded && error.Code == TtlExceededInTransit));
    }

    /// <summary>
    /// An ICMPv6 error worth the guest's knowing: destination unreachable, any code (a packet too big
    /// is the host's path MTU); a hop limit run out in transit.
    /// </summary>
    private static bool IsRelayed6(in ExtendedSocketError error) =>
        error.Origin == ExtendedSocketError.OriginIcmp6 &&
        (error.Type == Icmpv6Packet.TypeDestinationUnreachable ||
         (error.Type == Icmpv6Packet.TypeTimeExceeded && error.Code == Icmpv6Packet.CodeHopLimitExceeded));

    /// <summary>
    /// Sends the guest <paramref name="error"/> about its <paramref name="datagram"/> from
    /// <paramref name="from"/>, counted when it went; with the TTL it reached the host with, less
    /// the virtual router's hop, as a router forwards it (tracepath counts the hops back by it;
    /// 64 when the kernel did not say).
    /// </summary>
    private void Relay(Span<byte> datagram, in ExtendedSocketError error, Ipv4Address from)
    {
        var sent = IcmpErrorsSent;
        SendIcmpError(Ipv4Packet.CreateUnchecked(datagram), error.Type, error.Code, from, ForwardedTtl(error.Ttl, 64));
        Counters.IcmpErrorsRelayed += IcmpErrorsSent - sent;
    }

    /// <summary><see cref="Relay"/> over IPv6 (255 when the hop limit is not known, as the router's own errors).</summary>
    private void Relay6(Span<byte> datagram, in ExtendedSocketError error, Ipv6Address from)
    {
        var sent = Icmpv6ErrorsSent;
        SendIcmpv6Error(datagram, error.Type, error.Code, 0, from: from, hopLimit: ForwardedTtl(error.Ttl, 255));
        Counters.IcmpErrorsRelayed += Icmpv6ErrorsSent - sent;
    }


    /// <summary>The guest-visible address of a host address a flow's datagrams went to or came from (loopback as the guest named it).</summary>
    private Ipv4Address SeenByGuest(UdpFlow flow, Ipv4Address host) =>
        host.IsLoopback && !flow.LoopbackSeenAs.IsAny ? flow.LoopbackSeenAs : MapFromHost(host);

    /// <summary><see cref="SeenByGuest"/> for an IPv6 flow.</summary>
    private Ipv6Address SeenByGuest6(UdpFlow flow, Ipv6Address host) =>
        host.IsLoopback && !flow.LoopbackSeenAs6.IsUnspecified ? flow.LoopbackSeenAs6 : MapFromHost6(host);
}
