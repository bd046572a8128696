using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// One host client of a UDP host forward: its datagrams reach guest:port from
/// <see cref="ForeignAddress"/>:<see cref="ForeignPort"/> (the client's own address, or the virtual
/// host for a loopback client); the guest's answers to that end go back to the client.
/// </summary>
public sealed class UdpForwardFlow(Ipv4Address guestAddress, ushort guestPort, Ipv4Address foreignAddress, ushort foreignPort, object hostState)
{
    public Ipv4Address GuestAddress { get; } = guestAddress;

    public ushort GuestPort { get; } = guestPort;

    public Ipv4Address ForeignAddress { get; } = foreignAddress;

    public ushort ForeignPort { get; } = foreignPort;

    /// <summary>The host side's state (listener socket and client address).</summary>
    public object HostState { get; } = hostState;

    public long ExpiresAt { get; internal set; }

    public bool Closed { get; internal set; }
}
