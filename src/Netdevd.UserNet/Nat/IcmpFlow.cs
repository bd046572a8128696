using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>One guest echo stream (guest address, identifier, destination) on a host ICMP socket.</summary>
public sealed class IcmpFlow(Ipv4Address guestAddress, ushort identifier, Ipv4Address foreignAddress, Ipv4Address hostDestination) : IFlow, IPingFlow<Ipv4Address>
{
    public Ipv4Address GuestAddress { get; } = guestAddress;

    public ushort Identifier { get; } = identifier;

    /// <summary>The address the guest pinged (what replies must come from).</summary>
    public Ipv4Address ForeignAddress { get; } = foreignAddress;

    /// <summary>Where the host socket sends (10.0.2.2 becomes loopback).</summary>
    public Ipv4Address HostDestination { get; } = hostDestination;

    public long ExpiresAt { get; internal set; }

    /// <summary>When the flow last carried a datagram (stack clock, ms; for query-usernet).</summary>
    public long LastActivityMs { get; internal set; }

    long IFlow.Deadline => ExpiresAt;

    public object? HostState { get; set; }
}
