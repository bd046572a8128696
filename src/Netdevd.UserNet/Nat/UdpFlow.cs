using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// One guest UDP source (address, port) and its host socket, as libslirp keeps one socket per
/// guest port: datagrams to any destination leave through it, and whatever arrives on it goes
/// back to that guest port with the sender's address (translated back to the virtual one).
/// </summary>
public sealed class UdpFlow(Ipv4Address guestAddress, ushort guestPort) : IFlow
{
    public Ipv4Address GuestAddress { get; } = guestAddress;

    public ushort GuestPort { get; } = guestPort;

    /// <summary>When the flow expires without traffic (stack clock, ms).</summary>
    public long ExpiresAt { get; internal set; }

    /// <summary>When the flow last carried a datagram (stack clock, ms; for query-usernet).</summary>
    public long LastActivityMs { get; internal set; }

    long IFlow.Deadline => ExpiresAt;

    /// <summary>The host-side I/O state (socket); opaque to the stack.</summary>
    public object? HostState { get; set; }
}
