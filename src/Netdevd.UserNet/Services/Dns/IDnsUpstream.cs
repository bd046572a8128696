using System.Net;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// The host side of the DNS forwarder (the NAT owns the sockets): send one query datagram to a
/// resolver. Answers come back through <see cref="DnsForwarder.HandleAnswer"/>.
/// </summary>
public interface IDnsUpstream
{
    void Send(IPEndPoint resolver, ReadOnlySpan<byte> query);
}
