using System.Net;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// The host side of the DNS forwarder (the NAT owns the sockets): send one query datagram to a
/// resolver. Answers come back through <see cref="DnsForwarder.HandleAnswer"/>, ICMP errors for a
/// query through <see cref="DnsForwarder.HandleUnreachable"/>.
/// </summary>
public interface IDnsUpstream
{
    /// <summary>
    /// Sends <paramref name="query"/> to <paramref name="resolver"/>: false when the host refused
    /// it at once (no route to the resolver, its address family missing, ...), true when it left
    /// or may have (a full socket buffer loses it as the network would, and the timeout follows).
    /// </summary>
    bool Send(IPEndPoint resolver, ReadOnlySpan<byte> query);
}
