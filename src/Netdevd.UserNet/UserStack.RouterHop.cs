using Netdevd.UserNet.Interface;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>
/// The virtual router's hop for UDP and echo requests that leave through the host, as a router
/// forwards them: one that arrives with TTL (hop limit) 1 goes no further and gets a time exceeded
/// from the router (a traceroute's first hop); the rest leave the host with one less, so the hops
/// beyond answer in turn (their time exceeded is relayed, <c>UserStack.RelayedErrors.cs</c>). The
/// virtual host's own addresses (the host's loopback behind them) are the router itself: no hop.
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
}
