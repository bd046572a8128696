using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// One host client of a UDP host forward: its datagrams reach guest:port from the virtual host
/// address and <see cref="ForeignPort"/>; the guest's answers to that port go back to the client.
/// </summary>
public sealed class UdpForwardFlow(Ipv4Address guestAddress, ushort guestPort, ushort foreignPort, object hostState) : IFlow
{
    public Ipv4Address GuestAddress { get; } = guestAddress;

    public ushort GuestPort { get; } = guestPort;

    public ushort ForeignPort { get; } = foreignPort;

    /// <summary>The host side's state (listener socket and client address).</summary>
    public object HostState { get; } = hostState;

    public long ExpiresAt { get; internal set; }

    /// <summary>When the flow last carried a datagram (stack clock, ms; for query-usernet).</summary>
    public long LastActivityMs { get; internal set; }

    long IFlow.Deadline => ExpiresAt;

    public bool Closed { get; internal set; }
}
