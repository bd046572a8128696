using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// ICMPv6 (libslirp's ip6_icmp.c role): echo answered here for the virtual addresses, forwarded
/// through host ICMPv6 sockets otherwise; NDP handed to <c>UserStack.Ndp</c>; errors to the guest.
/// </summary>
public sealed partial class UserStack
{
    private readonly FlowTable<(Ipv6Address, ushort, Ipv6Address), Icmpv6Flow> _icmp6 = new(4);
    private IIcmpv6Host? _icmp6Host;
    private readonly IcmpErrorLimit _icmp6ErrorLimit = new();

    public int Icmpv6FlowCount => _icmp6.Count;

    /// <summary>ICMPv6 errors sent to the guest (parameter problems, unreachables).</summary>
    public long Icmpv6ErrorsSent { get; private set; }

    internal void AttachIcmpv6Host(IIcmpv6Host host) => _icmp6Host = host;

    private void InputIcmpv6(Ipv6Packet ip, int offset)
    {
        var bytes = ip.Bytes[offset..];
        if (!Icmpv6Packet.TryCreate(bytes, out var icmp))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        if (!_inputChecksumVerified && !icmp.VerifyChecksum(ip.Source, ip.Destination))
        {
            Counters.Drop(FrameDropReason.BadChecksum);
            return;
        }

        switch (icmp.Header.Type)
        {
            case Icmpv6Packet.TypeEchoRequest:
                InputEcho6(ip, icmp);
                break;
            case Icmpv6Packet.TypeRouterSolicitation:
            case Icmpv6Packet.TypeNeighborSolicitation:
            case Icmpv6Packet.TypeNeighborAdvertisement:
                InputNdp(ip, icmp);
                break;
            default:
                // Router advertisements and redirects (only routers send them), multicast listener
                // reports (nobody here listens for them), errors and echo replies: nothing to do.
                Counters.Drop(FrameDropReason.NotForUs);
                break;
        }
    }

    private void InputEcho6(Ipv6Packet ip, Icmpv6Packet icmp)
    {
        var source = ip.Source;
        var destination = ip.Destination;
        if (source.IsUnspecified)
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        if (IsVirtualAddress6(destination))
        {
            SendEchoReply6(destination, source, icmp.Header.Identifier, icmp.Bytes);
            return;
        }

        if (_options.Restrict)
        {
            Counters.Drop(FrameDropReason.Restricted);
            return;
        }

        if (IsOnLink6(destination) || destination.IsIpv4Mapped)
        {
            Counters.Drop(FrameDropReason.NotForUs);
            return;
        }

        if (_icmp6Host is not { } host)
        {
            Counters.Drop(FrameDropReason.IcmpUnavailable);
            return;
        }

        if (!TryTakeHop6(ip, destination, out var hopLimit))
        {
            return;
        }

        var key = (source, icmp.Header.Identifier, destination);
        if (!_icmp6.TryGet(key, out var flow))
        {
            if (AllIcmpFlows >= _options.Limits.MaxIcmpFlows)
            {
                Counters.Drop(FrameDropReason.IcmpFlowLimit);
                return;
            }

            flow = new Icmpv6Flow(source, icmp.Header.Identifier, destination);
            if (!host.Open(flow))
            {
                Counters.Drop(FrameDropReason.IcmpUnavailable);
                return;
            }

            _icmp6.Add(key, flow);
        }

        flow.ExpiresAt = NowMs + _options.Limits.IcmpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        if (!host.Send(flow, icmp.Bytes, hopLimit))
        {
            // libslirp answers a send that fails for lack of a route with an unreachable (icmp6_send_error).
            Counters.Drop(FrameDropReason.HostSocketFailed);
            SendIcmpv6Error(ip.Bytes, Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodeNoRoute, 0);
        }
    }

    /// <summary>
    /// An echo reply (ICMPv6 header and data) arrived on the flow's host socket, with hop limit
    /// <paramref name="hopLimit"/> (0: not known); it reaches the guest with one less, as through a router.
    /// </summary>
    internal void OnIcmpv6Reply(Icmpv6Flow flow, ReadOnlySpan<byte> reply, byte hopLimit = 0)
    {
        if (reply.Length < Icmpv6Packet.HeaderLength)
        {
            return;
        }

        flow.ExpiresAt = NowMs + _options.Limits.IcmpIdleTimeoutMs;
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        SendEchoReply6(flow.Destination, flow.GuestAddress, flow.Identifier, reply, ForwardedTtl(hopLimit, 64));
    }

    /// <summary>Writes an echo reply with the request's (or the host reply's) data and the guest's identifier.</summary>
    private void SendEchoReply6(Ipv6Address source, Ipv6Address guest, ushort identifier, ReadOnlySpan<byte> echo, byte hopLimit = 64)
    {
        var l4 = BeginIpv6(source, guest, IpProtocol.Icmpv6, echo.Length, out var frame, hopLimit);
        if (l4.IsEmpty)
        {
            return;
        }

        echo.CopyTo(l4);
        var reply = IcmpHeader.CreateUnchecked(l4);
        reply.Type = Icmpv6Packet.TypeEchoReply;
        reply.Code = 0;
        reply.Identifier = identifier;
        Icmpv6Packet.CreateUnchecked(l4).FillChecksum(source, guest);
        Commit(frame, Ipv6Headers + echo.Length);
    }

    /// <summary>
    /// An ICMPv6 error about <paramref name="offending"/> (a whole datagram from the guest) from the
    /// router's link-local address, as libslirp's icmp6_send_error (or from <paramref name="from"/>,
    /// a relayed error's sender): never about an error message,
    /// never to an unspecified or multicast source, never for a multicast destination unless RFC 4443
    /// 2.4 (e) allows it, as much of the datagram as fits in 1280 bytes, rate-limited.
    /// </summary>
    private void SendIcmpv6Error(ReadOnlySpan<byte> offending, byte type, byte code, uint rest, bool allowMulticast = false, Ipv6Address? from = null, byte hopLimit = 255)
    {
        if (offending.Length < Ipv6Packet.HeaderLength)
        {
            return;
        }

        var source = Ipv6Address.Read(offending[8..]);
        var destination = Ipv6Address.Read(offending[24..]);
        if (source.IsUnspecified || source.IsMulticast || (destination.IsMulticast && !allowMulticast) || IsIcmpv6Error(offending))
        {
            return;
        }

        if (!_icmp6ErrorLimit.TryTake(NowMs))
        {
            return;
        }

        var quoted = Math.Min(offending.Length, Icmpv6Packet.MaximumErrorLength - Icmpv6Packet.HeaderLength);
        var sender = from ?? RouterLinkLocal;
        var l4 = BeginIpv6(sender, source, IpProtocol.Icmpv6, Icmpv6Packet.HeaderLength + quoted, out var frame, hopLimit);
        if (l4.IsEmpty)
        {
            return;
        }

        var error = IcmpHeader.CreateUnchecked(l4);
        error.Type = type;
        error.Code = code;
        error.RestOfHeader = rest;
        offending[..quoted].CopyTo(error.Data);
        Icmpv6Packet.CreateUnchecked(l4).FillChecksum(sender, source);
        Icmpv6ErrorsSent++;
        Commit(frame, Ipv6Headers + l4.Length);
    }

    /// <summary>
    /// Whether a datagram is itself an ICMPv6 error (RFC 4443 2.4 (e.1): never answered with one).
    /// Follows the header lengths only: the datagram may be the one whose options were refused.
    /// </summary>
    private static bool IsIcmpv6Error(ReadOnlySpan<byte> datagram)
    {
        var next = datagram[6];
        var offset = Ipv6Packet.HeaderLength;
        for (var i = 0; i <= Ipv6HeaderChain.MaximumHeaders && offset + 8 <= datagram.Length; i++)
        {
            switch (next)
            {
                case IpProtocol.Icmpv6:
                    return datagram[offset] < 128;
                case Ipv6ExtensionHeader.Fragment:
                    next = datagram[offset];
                    offset += Ipv6FragmentHeader.Length;
                    break;
                case Ipv6ExtensionHeader.HopByHop or Ipv6ExtensionHeader.DestinationOptions or Ipv6ExtensionHeader.Routing:
                    next = datagram[offset];
                    offset += (datagram[offset + 1] + 1) * 8;
                    break;
                default:
                    return false;
            }
        }

        return false;
    }

    private void ExpireIcmp6(long now)
    {
        var due = _icmp6.CollectDue(now, out var next);
        foreach (var key in due)
        {
            if (_icmp6.Remove(key, out var flow))
            {
                _icmp6Host?.Close(flow);
            }
        }

        NoteDeadline(next);
    }
}
