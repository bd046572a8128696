using System.Net;
using Netdevd.Native;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// TCP over IPv6: the same connections and flow table as IPv4 (<see cref="TcpFlowAddress"/> is
/// family-agnostic); only the guest-side headers, the checksum's pseudo-header and where a
/// connection leads differ. The virtual host address reaches the host's ::1, as 10.0.2.2 reaches
/// 127.0.0.1 (libslirp's sotranslate_out).
/// </summary>
public sealed partial class UserStack
{
    private void InputTcp6(Ipv6Packet ip, int offset)
    {
        if (!TcpPacket.TryCreate(ip.Bytes[offset..], out var tcp))
        {
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        var source = ip.Source;
        var destination = ip.Destination;
        if (!_inputChecksumVerified && !tcp.VerifyChecksum(source, destination))
        {
            Counters.Drop(FrameDropReason.BadChecksum);
            return;
        }

        if (source.IsIpv4Mapped || destination.IsIpv4Mapped || source.IsUnspecified)
        {
            // IPv4-mapped addresses never travel in IPv6 headers (RFC 4038); they are how the
            // flow table keys IPv4 flows, so one here could alias an IPv4 connection.
            Counters.Drop(FrameDropReason.Malformed);
            return;
        }

        if (destination.IsMulticast)
        {
            // RFC 9293 3.10.7.1: TCP has no multicast ends; dropped silently, never answered with
            // a reset from the group's address (the source is checked for every IPv6 datagram).
            Counters.Drop(FrameDropReason.NotForUs);
            return;
        }

        InputTcpSegment(new TcpFlowAddress(source, tcp.SourcePort, destination, tcp.DestinationPort), tcp, ip.Bytes);
    }

    /// <summary>Where a guest connection to [foreign]:port goes: the host's nameserver, the host's ::1, the outside, or nowhere (restrict, on-link).</summary>
    private HostTarget.Tcp? ResolveTcpTarget6(Ipv6Address foreign, ushort port)
    {
        if (_options.Restrict)
        {
            return null;
        }

        if (IsDnsAddress6(foreign) && DnsOverTcpTarget(port) is { } dns)
        {
            return dns;
        }

        return MapToHost6(foreign) is { } host ? new HostTarget.Tcp(new IPEndPoint(host.ToIPAddress(), port)) : null;
    }

    /// <summary>The host address a foreign IPv6 address stands for; null when it leads nowhere.</summary>
    private Ipv6Address? MapToHost6(Ipv6Address foreign)
    {
        if (IsRouterAddress6(foreign))
        {
            // As libslirp's disable_host_loopback, for both families (slirp4netns's
            // --disable-host-loopback, pasta's --no-map-gw).
            return _options.Ipv6HostLoopback ? Ipv6Address.Loopback : null;
        }

        if (IsHostAlias6(foreign))
        {
            return Ipv6Address.Loopback;
        }

        if (IsOnLink6(foreign) || foreign.IsIpv4Mapped)
        {
            return null;
        }

        return foreign;
    }

    /// <summary>The guest-visible address of a host IPv6 address replies come from (loopback is the virtual host).</summary>
    private Ipv6Address MapFromHost6(Ipv6Address host) => host.IsLoopback ? _options.Ipv6Host : host;
}
