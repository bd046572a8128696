using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Services;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// IPv6 (libslirp's ip6_input.c role): the datagram checks, the extension-header walk, reassembly,
/// dispatch to ICMPv6/NDP, UDP (DHCPv6 and NAT) and TCP, and the frame emission every IPv6 path uses.
/// </summary>
public sealed partial class UserStack
{
    private const int Ipv6Headers = EthernetFrame.HeaderLength + Ipv6Packet.HeaderLength;

    /// <summary>fe80::/64.</summary>
    private static readonly Ipv6Address LinkLocalPrefix = new(0xFE80_0000_0000_0000UL, 0);

    private readonly NdpTable _ndp = new();
    private Ipv6Address _lastGuestIp6;
    private MacAddress _lastGuestMac6 = MacAddress.Broadcast;

    /// <summary>The guest's IPv6 neighbours (addresses learnt from its NDP and traffic).</summary>
    public NdpTable Neighbors6 => _ndp;

    /// <summary>The router's link-local address: fe80:: with the virtual host's interface identifier (fe80::2).</summary>
    private Ipv6Address RouterLinkLocal => _options.Ipv6Host.WithPrefix(LinkLocalPrefix, 64);

    private void InputIpv6(EthernetFrame eth)
    {
        if (!_options.Ipv6Enabled)
        {
            Counters.Drop(FrameDropReason.UnsupportedEtherType);
            return;
        }

        if (!Ipv6Packet.TryCreate(eth.Payload, out var ip))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        var source = ip.Source;
        if (source.IsMulticast)
        {
            Counters.Drop(FrameDropReason.Malformed); // RFC 4291 2.7: never a source
            return;
        }

        if ((source != _lastGuestIp6 || eth.Source != _lastGuestMac6) && !source.IsUnspecified)
        {
            _ndp.Add(source, eth.Source);
            _lastGuestIp6 = source;
            _lastGuestMac6 = eth.Source;
            NoteGuestAddress6(source);
        }

        var chain = ip.WalkHeaders();
        if (chain.IsFragment)
        {
            var result = _fragments.Add(ip, chain, NowMs, out var whole);
            if (result != FragmentResult.Complete)
            {
                CountIncompleteFragment(result);
                return;
            }

            if (!Ipv6Packet.TryCreate(whole, out ip))
            {
                Counters.Drop(FrameDropReason.Malformed);
                return;
            }

            chain = ip.WalkHeaders();
            if (chain.IsFragment)
            {
                Counters.Drop(FrameDropReason.Fragment); // a fragment inside a fragment
                return;
            }
        }

        switch (chain.Status)
        {
            case Ipv6ChainStatus.Complete:
                break;
            case Ipv6ChainStatus.Truncated:
                Counters.Drop(FrameDropReason.Malformed);
                return;
            default:
                Counters.Drop(FrameDropReason.ExtensionHeader);
                if (chain.Report == Ipv6ProblemReport.Always || (chain.Report == Ipv6ProblemReport.UnlessMulticast && !ip.Destination.IsMulticast))
                {
                    SendIcmpv6Error(ip.Bytes, Icmpv6Packet.TypeParameterProblem, chain.ProblemCode, (uint)chain.ProblemPointer, allowMulticast: chain.ProblemCode == Icmpv6Packet.CodeUnrecognizedOption);
                }

                return;
        }

        switch (chain.Protocol)
        {
            case IpProtocol.Icmpv6:
                InputIcmpv6(ip, chain.UpperOffset);
                break;
            case IpProtocol.Udp:
                InputUdp6(ip, chain.UpperOffset, eth.Source);
                break;
            case IpProtocol.Tcp:
                InputTcp6(ip, chain.UpperOffset);
                break;
            case Ipv6ExtensionHeader.NoNextHeader:
                Counters.Drop(FrameDropReason.UnsupportedProtocol);
                break;
            default:
                // RFC 8200 4: an unrecognised next header is a parameter problem, code 1, at its field.
                Counters.Drop(FrameDropReason.UnsupportedProtocol);
                SendIcmpv6Error(ip.Bytes, Icmpv6Packet.TypeParameterProblem, Icmpv6Packet.CodeUnrecognizedNextHeader, (uint)chain.NextHeaderFieldOffset);
                break;
        }
    }

    /// <summary>libslirp's in6_equal_router: the virtual host in the prefix or on the link-local prefix.</summary>
    private bool IsRouterAddress6(Ipv6Address a) => IsMachine6(a, _options.Ipv6Host);

    /// <summary>
    /// libslirp's in6_equal_dns (the DNS address in the prefix or on the link-local prefix), and the
    /// address itself when it lies outside the prefix (ipv6-dns may without restrict; pasta's IPv6
    /// --dns-forward, as podman's IPv4 169.254.1.1): reached through the router like any other.
    /// </summary>
    private bool IsDnsAddress6(Ipv6Address a) => a == _options.Ipv6Dns || IsMachine6(a, _options.Ipv6Dns);

    /// <summary>
    /// libslirp's in6_equal_host: any address the stack answers as itself; with the host alias, which
    /// (podman's fc00::2) may lie in the prefix, so its solicitations and echoes are answered here.
    /// </summary>
    private bool IsVirtualAddress6(Ipv6Address a) => IsRouterAddress6(a) || IsDnsAddress6(a) || IsHostAlias6(a);

    private bool IsHostAlias6(Ipv6Address a) => _options.Ipv6HostAlias is { } alias && a == alias;

    private bool IsMachine6(Ipv6Address a, Ipv6Address machine)
    {
        var length = _options.Ipv6PrefixLength;
        return (a.IsInPrefix(_options.Ipv6Prefix, length) && a.InterfaceIdentifier(length) == machine.InterfaceIdentifier(length)) ||
               (a.IsInPrefix(LinkLocalPrefix, 64) && a.InterfaceIdentifier(64) == machine.InterfaceIdentifier(64));
    }

    /// <summary>Whether a destination stays on the guest's link (the prefix, link-local, multicast): never NATed.</summary>
    private bool IsOnLink6(Ipv6Address a) =>
        a.IsInPrefix(_options.Ipv6Prefix, _options.Ipv6PrefixLength) || a.IsLinkLocal || a.IsMulticast || a.IsUnspecified || a.IsLoopback;

    /// <summary>
    /// Starts an IPv6 frame to the guest: returns the upper-layer area (of <paramref name="l4Length"/>
    /// bytes) inside a sink buffer, with Ethernet and IPv6 headers written; empty when the sink is
    /// full or a non-TCP datagram would not fit the guest's link. Finish with <see cref="Commit"/>.
    /// </summary>
    /// <param name="allocateL4">How much of the L4 part to allocate and return (-1: all of it; less when the rest follows the frame in pieces).</param>
    private Span<byte> BeginIpv6(Ipv6Address source, Ipv6Address destination, byte nextHeader, int l4Length, out Span<byte> frame, byte hopLimit = 64, int allocateL4 = -1)
    {
        var l4Allocated = allocateL4 < 0 ? l4Length : allocateL4;
        frame = default;
        if (Ipv6Packet.HeaderLength + l4Length > _options.GuestMtu && nextHeader != IpProtocol.Tcp)
        {
            // IPv6 is never fragmented on the way (libslirp's ip6_output sends as it is); what the
            // stack itself builds is never this long except an echo reply to a reassembled request,
            // which the guest would have to reassemble. TCP is exempt as over IPv4: its segments
            // follow the MSS the guest announced, which a guest with a larger MTU (podman and
            // rootlesskit use 65520) sets above 1500 - 60.
            Counters.Drop(FrameDropReason.OutputFull);
            return default;
        }

        frame = _sink.Allocate(Math.Max(Ipv6Headers + l4Allocated, EthernetFrame.MinimumLength));
        if (frame.Length < Ipv6Headers + l4Allocated)
        {
            Counters.Drop(FrameDropReason.OutputFull);
            return default;
        }

        // libslirp's if_encap6: the frame comes from the MAC derived from the datagram's source.
        EthernetFrame.WriteHeader(frame, _ndp.Resolve(destination), VirtualMac.For(source), EtherType.Ipv6);
        Ipv6Packet.WriteHeader(frame[EthernetFrame.HeaderLength..], source, destination, nextHeader, l4Length, hopLimit);
        frame = frame[..Math.Max(Ipv6Headers + l4Allocated, EthernetFrame.MinimumLength)];
        return frame.Slice(Ipv6Headers, l4Allocated);
    }
}
