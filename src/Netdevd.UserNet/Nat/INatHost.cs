using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// The host side of the NAT: real sockets. The stack (sans-IO) calls these; the host answers later
/// through the stack's <c>OnHost*</c> methods, always under the same lock as the stack's other calls.
/// </summary>
internal interface INatHost
{
    /// <summary>
    /// Starts connecting for a new guest connection; answer with <see cref="UserStack.OnTcpConnected"/>
    /// or <see cref="UserStack.OnTcpConnectFailed"/>. <paramref name="ttl"/>: the TTL (hop limit)
    /// the connection leaves the host with, past the virtual router's hop, whose routers' ICMP
    /// errors about the SYN are then reported with the failure; 0: the host's default, no report.
    /// </summary>
    void OpenTcp(TcpConnection connection, HostTarget target, byte ttl);

    /// <summary>Level-triggered: look at the connection and start the reads, writes, shutdown it now allows.</summary>
    void SyncTcp(TcpConnection connection);

    /// <summary>The connection is gone: release its socket (abortively when <see cref="TcpConnection.ResetByGuest"/>).</summary>
    void CloseTcp(TcpConnection connection);

    /// <summary>
    /// Opens the host socket of a new UDP flow: 0, or the errno that refused it (EAFNOSUPPORT: the
    /// host has no such family, which the stack tells the guest as an unreachable network).
    /// </summary>
    int OpenUdp(UdpFlow flow);

    /// <summary>
    /// Sends from an IPv4 flow through its socket; false when the host has no way to the
    /// destination (unreachable network or host, unusable address). Other failures (a full
    /// buffer) lose the datagram, which UDP allows. <paramref name="ttl"/> is the TTL it leaves the
    /// host with (the guest's, less the virtual router's hop, so a traceroute goes on past it); 0:
    /// whatever the socket last sent with.
    /// </summary>
    bool SendUdp(UdpFlow flow, Ipv4Address destination, ushort port, ReadOnlySpan<byte> payload, byte ttl);

    /// <summary>The same from an IPv6 flow (<see cref="UdpFlow.IsIpv6"/>) through its AF_INET6 socket (<paramref name="hopLimit"/> as the TTL).</summary>
    bool SendUdp6(UdpFlow flow, Ipv6Address destination, ushort port, ReadOnlySpan<byte> payload, byte hopLimit);

    void CloseUdp(UdpFlow flow);

    /// <summary>Opens the host side of an echo flow; false when ICMP sockets are not available here.</summary>
    bool OpenIcmp(IcmpFlow flow);

    /// <summary>
    /// Sends an echo request (ICMP header and data; identifier and checksum are the host's
    /// business) with <paramref name="ttl"/> as <see cref="SendUdp"/>'s; false when the host has no
    /// route to the destination.
    /// </summary>
    bool SendIcmp(IcmpFlow flow, ReadOnlySpan<byte> icmp, byte ttl);

    void CloseIcmp(IcmpFlow flow);
}
