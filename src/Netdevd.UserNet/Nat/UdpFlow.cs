using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// One guest UDP source (address, port) and its host socket, as libslirp keeps one socket per
/// guest port: datagrams to any destination leave through it, and whatever arrives on it goes
/// back to that guest port with the sender's address (translated back to the virtual one). An
/// IPv6 source (<see cref="IsIpv6"/>) has an AF_INET6 host socket.
/// </summary>
public sealed class UdpFlow : IFlow
{
    public UdpFlow(Ipv4Address guestAddress, ushort guestPort)
    {
        GuestAddress = guestAddress;
        GuestPort = guestPort;
    }

    public UdpFlow(Ipv6Address guestAddress6, ushort guestPort)
    {
        GuestAddress6 = guestAddress6;
        GuestPort = guestPort;
        IsIpv6 = true;
    }

    /// <summary>The guest's IPv4 address (IPv4 flows).</summary>
    public Ipv4Address GuestAddress { get; }

    /// <summary>The guest's IPv6 address (IPv6 flows).</summary>
    public Ipv6Address GuestAddress6 { get; }

    public bool IsIpv6 { get; }

    public ushort GuestPort { get; }

    /// <summary>
    /// The guest-visible address the guest last sent to for the host's loopback (the virtual host
    /// or the host alias): what loopback replies come from. Any (0.0.0.0) until then.
    /// </summary>
    public Ipv4Address LoopbackSeenAs { get; internal set; }

    /// <summary>The same for an IPv6 flow (the virtual host, its link-local twin or the host alias); :: until then.</summary>
    public Ipv6Address LoopbackSeenAs6 { get; internal set; }

    /// <summary>When the flow expires without traffic (stack clock, ms).</summary>
    public long ExpiresAt { get; internal set; }

    /// <summary>When the flow last carried a datagram (stack clock, ms; for query-usernet).</summary>
    public long LastActivityMs { get; internal set; }

    long IFlow.Deadline => ExpiresAt;

    /// <summary>The host-side I/O state (socket); opaque to the stack.</summary>
    public object? HostState { get; set; }
}
