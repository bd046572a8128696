using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Services;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// Neighbor Discovery (RFC 4861) as libslirp's ndp_input/ndp_send_ra/ndp_send_na/ndp_send_ns:
/// solicitations for the virtual host and DNS addresses (and their link-local twins) answered,
/// the guest's own (duplicate address detection among them) never; router advertisements on a
/// solicitation (at most one per 3 s) and every 200 to 600 seconds; the guest's addresses learnt;
/// a solicitation for a guest address the stack had to send to without knowing its MAC.
/// </summary>
public sealed partial class UserStack
{
    /// <summary>libslirp's NDP_MaxRtrAdvInterval (600 s) and NDP_MinRtrAdvInterval (a third of it), in ms.</summary>
    private const int MaxRouterAdvertisementIntervalMs = 600_000;
    private const int MinRouterAdvertisementIntervalMs = MaxRouterAdvertisementIntervalMs / 3;

    /// <summary>libslirp's NDP_AdvDefaultLifetime: three times the longest interval, in seconds.</summary>
    private const ushort RouterLifetimeSeconds = 3 * MaxRouterAdvertisementIntervalMs / 1000;

    /// <summary>libslirp's NDP_AdvValidLifetime and NDP_AdvPrefLifetime.</summary>
    private const uint PrefixValidLifetimeSeconds = 86400;
    private const uint PrefixPreferredLifetimeSeconds = 14400;

    /// <summary>libslirp's RDNSS lifetime (2 * NDP_MaxRtrAdvInterval in seconds), also used for DNSSL (RFC 8106 5.2 bounds).</summary>
    private const uint DnsLifetimeSeconds = 2 * MaxRouterAdvertisementIntervalMs / 1000;

    /// <summary>RFC 4861 10: the hop limit hosts should use, as libslirp advertises.</summary>
    private const byte AdvertisedHopLimit = 64;

    private const byte NdpHopLimit = 255;

    /// <summary>RFC 4861 6.2.6's MIN_DELAY_BETWEEN_RAS (3 s): all-nodes advertisements at most this often.</summary>
    private const int MinDelayBetweenAdvertisementsMs = 3000;

    private long _nextRouterAdvertisementMs = long.MaxValue;
    private long _lastRouterAdvertisementMs = -MinDelayBetweenAdvertisementsMs;
    private byte[] _dnsSearch6 = [];

    /// <summary>Router advertisements sent (on solicitation and periodic).</summary>
    public long RouterAdvertisementsSent { get; private set; }

    /// <summary>
    /// Milliseconds on the stack's clock when <see cref="Poll"/> next has idle work (the periodic
    /// router advertisement), or <see cref="long.MaxValue"/>: lets the owner sleep between them
    /// instead of ticking while nothing else runs.
    /// </summary>
    public long IdleWakeupMs => _options.Ipv6Enabled ? _nextRouterAdvertisementMs : long.MaxValue;

    /// <summary>The DNSSL names once, in wire form: each valid name's labels, as given.</summary>
    private void InitNdp()
    {
        if (!_options.Ipv6Enabled)
        {
            return;
        }

        var names = new List<byte>();
        Span<byte> wire = stackalloc byte[DnsName.MaximumLength + 1];
        foreach (var name in _options.Ipv6DnsSearch)
        {
            // RFC 8106 5.2: uncompressed names; the option's length field caps it at 2040 bytes.
            if (DnsName.TryEncode(name, wire, out var length) && length > 1 && NdpOption.DnsslLength(names.Count + length) <= 255 * 8)
            {
                names.AddRange(wire[..length]);
            }
        }

        _dnsSearch6 = [.. names];
        _nextRouterAdvertisementMs = NowMs + NextAdvertisementInterval();
    }

    private static int NextAdvertisementInterval() =>
        Random.Shared.Next(MinRouterAdvertisementIntervalMs, MaxRouterAdvertisementIntervalMs);

    private void InputNdp(Ipv6Packet ip, Icmpv6Packet icmp)
    {
        // RFC 4861 7.1.1 / 6.1.1: only from the link itself (hop limit 255), code 0, well-formed options.
        if (ip.HopLimit != NdpHopLimit || icmp.Header.Code != 0)
        {
            Counters.Drop(FrameDropReason.InvalidNdp);
            return;
        }

        var source = ip.Source;
        switch (icmp.Header.Type)
        {
            case Icmpv6Packet.TypeRouterSolicitation:
                if (!NdpRouterSolicitation.TryCreate(icmp.Bytes, out var rs) || !NdpOptionReader.IsValid(rs.Options) ||
                    (source.IsUnspecified && NdpOptionReader.TryFindLinkLayerAddress(rs.Options, NdpOption.SourceLinkLayerAddress, out _)))
                {
                    Counters.Drop(FrameDropReason.InvalidNdp);
                    return;
                }

                Learn(source, rs.Options, NdpOption.SourceLinkLayerAddress);
                AnswerRouterSolicitation(NowMs);
                break;

            case Icmpv6Packet.TypeNeighborSolicitation:
                if (!NdpNeighborSolicitation.TryCreate(icmp.Bytes, out var ns) || !NdpOptionReader.IsValid(ns.Options) || ns.Target.IsMulticast ||
                    (source.IsUnspecified && (!ip.Destination.IsSolicitedNodeMulticast ||
                                              NdpOptionReader.TryFindLinkLayerAddress(ns.Options, NdpOption.SourceLinkLayerAddress, out _))))
                {
                    Counters.Drop(FrameDropReason.InvalidNdp);
                    return;
                }

                if (!IsVirtualAddress6(ns.Target))
                {
                    // The guest resolving someone else, or checking its own tentative address (DAD):
                    // nobody else is on this link, so silence is the right answer. A DAD names an
                    // address the guest is about to use (its SLAAC one): forwards may go there.
                    if (source.IsUnspecified)
                    {
                        NoteGuestAddress6(ns.Target);
                    }

                    Counters.Drop(FrameDropReason.NotForUs);
                    return;
                }

                Learn(source, ns.Options, NdpOption.SourceLinkLayerAddress);
                SendNeighborAdvertisement(ns.Target, source);
                break;

            case Icmpv6Packet.TypeNeighborAdvertisement:
                if (!NdpNeighborAdvertisement.TryCreate(icmp.Bytes, out var na) || !NdpOptionReader.IsValid(na.Options) || na.Target.IsMulticast ||
                    (ip.Destination.IsMulticast && na.Solicited))
                {
                    Counters.Drop(FrameDropReason.InvalidNdp);
                    return;
                }

                // The guest announcing (or answering for) one of its addresses: that is the entry.
                var mac = NdpOptionReader.TryFindLinkLayerAddress(na.Options, NdpOption.TargetLinkLayerAddress, out var tll) ? tll : _lastGuestMac6;
                if (!IsVirtualAddress6(na.Target))
                {
                    _ndp.Add(na.Target, mac);
                    NoteGuestAddress6(na.Target);
                }

                break;
        }
    }

    /// <summary>
    /// RFC 4861 6.2.6: advertisements to all nodes MUST be rate-limited to one per 3 s. A
    /// solicitation within 3 s of the last one is answered by the next, moved up to 3 s after it
    /// (a second guest booting still hears it soon); otherwise every solicitation of a guest that
    /// floods them sent an advertisement to every node on the link.
    /// </summary>
    private void AnswerRouterSolicitation(long now)
    {
        if (now - _lastRouterAdvertisementMs >= MinDelayBetweenAdvertisementsMs)
        {
            SendRouterAdvertisement(now);
            return;
        }

        _nextRouterAdvertisementMs = Math.Min(_nextRouterAdvertisementMs, _lastRouterAdvertisementMs + MinDelayBetweenAdvertisementsMs);
    }

    /// <summary>Learns the sender from a link-layer option, if it has one and an address (the frame's MAC was learnt on input).</summary>
    private void Learn(Ipv6Address source, Span<byte> options, byte type)
    {
        if (!source.IsUnspecified && NdpOptionReader.TryFindLinkLayerAddress(options, type, out var mac))
        {
            _ndp.Add(source, mac);
        }
    }

    /// <summary>libslirp's ndp_send_na: from the target, to the soliciting node (all nodes for DAD), solicited unless multicast, override.</summary>
    private void SendNeighborAdvertisement(Ipv6Address target, Ipv6Address solicitor)
    {
        var destination = solicitor.IsUnspecified ? Ipv6Address.AllNodes : solicitor;
        const int length = NdpNeighborAdvertisement.HeaderLength + NdpOption.LinkLayerAddressLength;
        var l4 = BeginIpv6(target, destination, IpProtocol.Icmpv6, length, out var frame, NdpHopLimit);
        if (l4.IsEmpty)
        {
            return;
        }

        var n = NdpNeighborAdvertisement.Write(l4, target, router: true, solicited: !destination.IsMulticast, @override: true);
        NdpOption.WriteLinkLayerAddress(l4[n..], NdpOption.TargetLinkLayerAddress, VirtualMac.For(target));
        Icmpv6Packet.CreateUnchecked(l4).FillChecksum(target, destination);
        Commit(frame, Ipv6Headers + length);
    }

    /// <summary>
    /// libslirp's ndp_send_ra, to all nodes from the router's link-local address: hop limit 64, no
    /// O flag, M only when DHCPv6 assigns an address (ipv6-dhcp-address, as passt's ndp_ra; the
    /// prefix stays autonomous there too), router lifetime 1800 s, the source link-layer address, the link MTU (the netdev's
    /// <c>mtu</c>, 1500 as libslirp unless given: a guest whose link is larger, podman's and
    /// rootlesskit's 65520, needs it announced or its IPv6 route and MSS stay at 1500), the prefix
    /// (on-link, autonomous, 86400/14400 s), the DNS address (RDNSS) and the search list (DNSSL).
    /// </summary>
    private void SendRouterAdvertisement(long now)
    {
        _lastRouterAdvertisementMs = now;
        var source = RouterLinkLocal;
        var destination = Ipv6Address.AllNodes;
        var dnssl = _dnsSearch6.Length > 0 ? NdpOption.DnsslLength(_dnsSearch6.Length) : 0;
        var length = NdpRouterAdvertisement.HeaderLength + NdpOption.LinkLayerAddressLength + NdpOption.MtuLength +
                     NdpOption.PrefixInformationLength + NdpOption.RdnssLength(1) + dnssl;
        var l4 = BeginIpv6(source, destination, IpProtocol.Icmpv6, length, out var frame, NdpHopLimit);
        if (l4.IsEmpty)
        {
            return;
        }

        var n = NdpRouterAdvertisement.Write(l4, AdvertisedHopLimit, managed: _options.Ipv6DhcpAddress is not null, other: false, RouterLifetimeSeconds, 0, 0);
        n += NdpOption.WriteLinkLayerAddress(l4[n..], NdpOption.SourceLinkLayerAddress, VirtualMac.For(source));
        n += NdpOption.WriteMtu(l4[n..], (uint)_options.GuestMtu);
        n += NdpOption.WritePrefixInformation(l4[n..], _options.Ipv6Prefix, _options.Ipv6PrefixLength, onLink: true, autonomous: true,
            PrefixValidLifetimeSeconds, PrefixPreferredLifetimeSeconds);
        n += NdpOption.WriteRdnss(l4[n..], DnsLifetimeSeconds, [_options.Ipv6Dns]);
        if (dnssl > 0)
        {
            NdpOption.WriteDnssl(l4[n..], DnsLifetimeSeconds, _dnsSearch6);
        }

        Icmpv6Packet.CreateUnchecked(l4).FillChecksum(source, destination);
        RouterAdvertisementsSent++;
        Commit(frame, Ipv6Headers + length);
    }

    /// <summary>libslirp's ndp_send_ns: to the target's solicited-node group, with our link-layer address.</summary>
    private void SendNeighborSolicitation(Ipv6Address target)
    {
        var source = target.IsLinkLocal ? RouterLinkLocal : _options.Ipv6Host;
        var destination = target.SolicitedNodeMulticast;
        const int length = NdpNeighborSolicitation.HeaderLength + NdpOption.LinkLayerAddressLength;
        var l4 = BeginIpv6(source, destination, IpProtocol.Icmpv6, length, out var frame, NdpHopLimit);
        if (l4.IsEmpty)
        {
            return;
        }

        var n = NdpNeighborSolicitation.Write(l4, target);
        NdpOption.WriteLinkLayerAddress(l4[n..], NdpOption.SourceLinkLayerAddress, VirtualMac.For(source));
        Icmpv6Packet.CreateUnchecked(l4).FillChecksum(source, destination);
        Commit(frame, Ipv6Headers + length);
    }

    private long _lastNeighborSolicitationMs = -1_000_000;

    /// <summary>Poll's part: the periodic advertisement and the solicitation a miss asked for (at most one per 100 ms).</summary>
    private void PollNdp(long now)
    {
        if (!_options.Ipv6Enabled)
        {
            return;
        }

        if (now >= _nextRouterAdvertisementMs)
        {
            _nextRouterAdvertisementMs = now + NextAdvertisementInterval();
            SendRouterAdvertisement(now);
        }

        if (_ndp.PendingMiss is not null && now - _lastNeighborSolicitationMs >= 100 && _ndp.TakeMiss() is { } target)
        {
            _lastNeighborSolicitationMs = now;
            SendNeighborSolicitation(target);
        }
    }
}
