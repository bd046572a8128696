namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's auto mode per option: -t/-u forward the ports bound in the namespace from the host,
/// -T/-U the ports bound on the host from the namespace's loopback.
/// </summary>
internal readonly record struct AutoPorts(bool Tcp, bool Udp, bool TcpNs, bool UdpNs)
{
    public bool Any => Tcp || Udp || TcpNs || UdpNs;
}
