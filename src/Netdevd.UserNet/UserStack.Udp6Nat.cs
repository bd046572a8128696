using Netdevd.Native;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Services.Dns;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// UDP over IPv6 past DHCPv6: queries to the IPv6 DNS address go to the DNS forwarder, the rest
/// out through one AF_INET6 host socket per guest source (libslirp's udp6.c); the virtual host
/// address reaches the host's ::1. The IPv4 and IPv6 flows share one limit.
/// </summary>
public sealed partial class UserStack
{
    private readonly FlowTable<(Ipv6Address, ushort), UdpFlow> _udp6 = new(16);

    /// <summary>Open IPv6 UDP flows.</summary>
    public int Udp6FlowCount => _udp6.Count;

    private void InputUdp6Nat(Ipv6Packet ip, UdpPacket udp)
    {
        var source = ip.Source;
        var destination = ip.Destination;
        var port = udp.DestinationPort;
        if (IsDnsAddress6(destination) && port == DnsPort && !_options.Restrict && Dns is not null)
        {
            InputDns6(source, udp.SourcePort, udp.Payload);
            return;
        }

        if (TryUdpForwardReply(source, udp.SourcePort, destination, port, udp.Payload))
        {
            return;
        }

        if (_options.Restrict)
        {
            Counters.Drop(FrameDropReason.Restricted);
            return;
        }

        if (source.IsIpv4Mapped || source.IsUnspecified || MapToHost6(destination) is not { } hostDestination)
        {
            Counters.Drop(FrameDropReason.NotForUs);
            return;
        }

        if (!TryTakeHop6(ip, hostDestination, out var hopLimit))
        {
            return;
        }

        var key = (source, udp.SourcePort);
        if (!_udp6.TryGet(key, out var flow))
        {
            if (!MakeRoomForGuestUdpFlow())
            {
                return;
            }

            flow = new UdpFlow(source, udp.SourcePort);
            if (Host.OpenUdp(flow) is not 0 and var refused)
            {
                // A host without IPv6 (ipv6.disable=1): no route beyond the router, said at once so
                // the guest's resolver or application moves on; anything else is a loss (libslirp).
                Counters.Drop(FrameDropReason.HostSocketFailed);
                if (refused == Errno.EAFNOSUPPORT)
                {
                    SendIcmpv6Error(ip.Bytes, Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodeNoRoute, 0);
                }

                return;
            }

            _udp6.Add(key, flow);
            Counters.UdpFlowsOpened++;
        }

        flow.ExpiresAt = NowMs + (port == DnsPort ? _options.Limits.UdpDnsIdleTimeoutMs : _options.Limits.UdpIdleTimeoutMs);
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        if (hostDestination.IsLoopback)
        {
            flow.LoopbackSeenAs6 = destination;
        }

        if (!Host.SendUdp6(flow, hostDestination, port, udp.Payload, hopLimit))
        {
            // libslirp's udp6_input answers a failed sendto with an unreachable (icmp6_send_error, no route).
            Counters.Drop(FrameDropReason.HostSocketFailed);
            SendIcmpv6Error(ip.Bytes, Icmpv6Packet.TypeDestinationUnreachable, Icmpv6Packet.CodeNoRoute, 0);
        }
    }

    /// <summary>A query to the IPv6 DNS address: the same forwarder as IPv4's; the answer goes back over IPv6.</summary>
    private void InputDns6(Ipv6Address client, ushort clientPort, ReadOnlySpan<byte> query)
    {
        // An immediate answer (SERVFAIL) is as long as the query; only a reassembled query is longer than a frame.
        Span<byte> immediate = query.Length <= GuestLinkMtu ? stackalloc byte[GuestLinkMtu] : new byte[query.Length];
        var n = Dns!.HandleQuery(new DnsGuestEndpoint(client, clientPort), query, immediate);
        if (n > 0)
        {
            SendUdp6(_options.Ipv6Dns, DnsPort, client, clientPort, immediate[..n]);
        }
    }

    /// <summary>A datagram arrived on an IPv6 flow's host socket from [<paramref name="from"/>]:<paramref name="fromPort"/>.</summary>
    internal void OnUdp6Received(UdpFlow flow, Ipv6Address from, ushort fromPort, ReadOnlySpan<byte> payload)
    {
        flow.ExpiresAt = NowMs + (fromPort == DnsPort ? _options.Limits.UdpDnsIdleTimeoutMs : _options.Limits.UdpIdleTimeoutMs);
        flow.LastActivityMs = NowMs;
        NoteDeadline(flow.ExpiresAt);
        SendUdp6(SeenByGuest6(flow, from), fromPort, flow.GuestAddress6, flow.GuestPort, payload);
    }

    private void ExpireUdp6(long now)
    {
        var due = _udp6.CollectDue(now, out var next);
        foreach (var key in due)
        {
            if (_udp6.Remove(key, out var flow))
            {
                _host?.CloseUdp(flow);
            }
        }

        NoteDeadline(next);
    }

    private void CloseUdp6Flows()
    {
        foreach (var f in _udp6.Flows)
        {
            _host?.CloseUdp(f);
        }

        _udp6.Clear();
    }
}
