using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>One guest ICMPv6 echo stream (guest address, identifier, destination) on a host ICMPv6 socket.</summary>
public sealed class Icmpv6Flow(Ipv6Address guestAddress, ushort identifier, Ipv6Address destination) : IFlow, IPingFlow<Ipv6Address>
{
    public Ipv6Address GuestAddress { get; } = guestAddress;

    public ushort Identifier { get; } = identifier;

    /// <summary>The address the guest pinged: where the host socket sends and what replies come from.</summary>
    public Ipv6Address Destination { get; } = destination;

    public long ExpiresAt { get; internal set; }

    /// <summary>When an echo last passed either way (stack clock, ms): the idle time query-usernet shows.</summary>
    public long LastActivityMs { get; internal set; }

    long IFlow.Deadline => ExpiresAt;

    Ipv6Address IPingFlow<Ipv6Address>.HostDestination => Destination;

    public object? HostState { get; set; }
}
