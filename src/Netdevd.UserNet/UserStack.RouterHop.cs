using System.Net;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// The virtual router's hop for UDP, echo requests and TCP connections that leave through the
/// host, as a router forwards them: one that arrives with TTL (hop limit) 1 goes no further and
/// gets a time exceeded from the router (a traceroute's first hop); the rest leave the host with
/// one less, so the hops beyond answer in turn (their time exceeded is relayed,
/// <c>UserStack.RelayedErrors.cs</c>). The virtual host's own addresses (the host's loopback
/// behind them) and services (the DNS proxy) are the router itself: no hop. For TCP the hop is the
/// opening SYN's: the host's connection is the router's own from then on, sent with that TTL.
/// libslirp sends everything with the host's default TTL, so a guest's traceroute sees nothing.
/// </summary>
public sealed partial class UserStack
{
    /// <summary>
    /// Takes the router's hop for <paramref name="ip"/>, bound for <paramref name="hostDestination"/>:
    /// false (answered and counted) when its TTL runs out here; else the TTL it leaves the host with
    /// (0: to the router itself, as the socket has it).
    /// </summary>
    private bool TryTakeHop(Ipv4Packet ip, Ipv4Address hostDestination, out byte ttl)
    {
        ttl = 0;
        if (hostDestination.IsLoopback)
        {
            return true;
        }

        if (ip.TimeToLive <= 1)
        {
            Counters.Drop(FrameDropReason.TimeExceeded);
            SendIcmpError(ip, IcmpPacket.TypeTimeExceeded, 0);
            return false;
        }

        ttl = (byte)(ip.TimeToLive - 1);
        return true;
    }

    /// <summary><see cref="TryTakeHop"/> over IPv6: the hop limit, a time exceeded from the router's link-local address.</summary>
    private bool TryTakeHop6(Ipv6Packet ip, Ipv6Address hostDestination, out byte hopLimit)
    {
        hopLimit = 0;
        if (hostDestination.IsLoopback)
        {
            return true;
        }

        if (ip.HopLimit <= 1)
        {
            Counters.Drop(FrameDropReason.TimeExceeded);
            SendIcmpv6Error(ip.Bytes, Icmpv6Packet.TypeTimeExceeded, Icmpv6Packet.CodeHopLimitExceeded, 0);
            return false;
        }

        hopLimit = (byte)(ip.HopLimit - 1);
        return true;
    }

    /// <summary>
    /// <see cref="TryTakeHop"/> for the SYN in <paramref name="datagram"/> that opens a connection
    /// to <paramref name="target"/>: a hop only when the host connects to the very address the
    /// guest named (the NAT to the outside), not to loopback or to the DNS proxy's nameserver.
    /// </summary>
    private bool TryTakeTcpHop(in TcpFlowAddress key, HostTarget target, Span<byte> datagram, out byte ttl)
    {
        ttl = 0;
        if (target is not HostTarget.Tcp { Then: null, EndPoint.Address: var host } || IPAddress.IsLoopback(host))
        {
            return true;
        }

        if (!host.MapToIPv6().Equals(key.Foreign.ToIPAddress()))
        {
            return true; // IPv4 flows key their addresses IPv4-mapped
        }

        return key.IsIpv4
            ? TryTakeHop(Ipv4Packet.CreateUnchecked(datagram), key.ForeignAddress, out ttl)
            : TryTakeHop6(Ipv6Packet.CreateUnchecked(datagram), key.Foreign, out ttl);
    }

    /// <summary>
    /// The TTL (hop limit) a datagram from beyond the host leaves the router with towards the
    /// guest: one less than it reached the host with (<paramref name="arrived"/>), so the guest's
    /// `ping` shows a real path's TTL and `tracepath` counts the hops back right;
    /// <paramref name="unknown"/> when the kernel did not say (0). Never 0: it is delivered, not dropped.
    /// </summary>
    private static byte ForwardedTtl(byte arrived, byte unknown) =>
        arrived == 0 ? unknown : (byte)Math.Max(arrived - 1, 1);
}
