using Netdevd.Wire;

namespace Netdevd.UserNet.Forwarding;

/// <summary>
/// A parsed hostfwd rule: host listeners on <see cref="HostAddress"/>:<see cref="HostPort"/>
/// (0.0.0.0 = all interfaces; port 0 = any free port) forward to the guest's
/// <see cref="GuestAddress"/>:<see cref="GuestPort"/>.
/// </summary>
public sealed record HostForwardRule(string Text, bool Udp, Ipv4Address HostAddress, int HostPort, Ipv4Address GuestAddress, int GuestPort)
{
    public string Protocol => Udp ? "udp" : "tcp";
}
