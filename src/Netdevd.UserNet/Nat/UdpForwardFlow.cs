using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// One host client of a UDP host forward: its datagrams reach guest:port from
/// <see cref="Foreign"/>:<see cref="ForeignPort"/> (the client's own address, or the virtual
/// host for a loopback client); the guest's answers to that end go back to the client.
/// Family-agnostic as <see cref="TcpFlowAddress"/>: an IPv4 flow holds IPv4-mapped addresses.
/// </summary>
public sealed class UdpForwardFlow(Ipv6Address guest, ushort guestPort, Ipv6Address foreign, ushort foreignPort, object hostState) : IFlow
{
    public Ipv6Address Guest { get; } = guest;

    public ushort GuestPort { get; } = guestPort;

    public Ipv6Address Foreign { get; } = foreign;

    public ushort ForeignPort { get; } = foreignPort;

    public bool IsIpv4 => Guest.IsIpv4Mapped;

    /// <summary>The guest's IPv4 address (IPv4 flows only).</summary>
    public Ipv4Address GuestAddress => Guest.ToIpv4Mapped();

    /// <summary>The foreign IPv4 address (IPv4 flows only).</summary>
    public Ipv4Address ForeignAddress => Foreign.ToIpv4Mapped();

    /// <summary>The host side's state (listener socket and client address).</summary>
    public object HostState { get; } = hostState;

    public long ExpiresAt { get; internal set; }

    /// <summary>When the flow last carried a datagram (stack clock, ms; for query-usernet).</summary>
    public long LastActivityMs { get; internal set; }

    long IFlow.Deadline => ExpiresAt;

    public bool Closed { get; internal set; }
}
