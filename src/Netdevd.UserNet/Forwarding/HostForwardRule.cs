using System.Net;
using System.Net.Sockets;

namespace Netdevd.UserNet.Forwarding;

/// <summary>
/// A parsed hostfwd rule: host listeners on <see cref="HostAddress"/>:<see cref="HostPort"/>
/// (0.0.0.0 or :: = all interfaces; port 0 = any free port) forward to the guest's
/// <see cref="GuestAddress"/>:<see cref="GuestPort"/>. Either address may be IPv4 or IPv6,
/// independently of the other.
/// </summary>
public sealed record HostForwardRule(string Text, bool Udp, IPAddress HostAddress, int HostPort, IPAddress GuestAddress, int GuestPort)
{
    public string Protocol => Udp ? "udp" : "tcp";

    public bool GuestIsIpv6 => GuestAddress.AddressFamily == AddressFamily.InterNetworkV6;
}
