using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// The TTL (IPv6: unicast hop limit) a host datagram socket sends with: the guest's, less the
/// virtual router's hop, so a traceroute from the guest goes on past the router. Set only when it
/// changes (a traceroute changes it per probe; everything else keeps one).
/// </summary>
internal struct SocketTtl
{
    private byte _current;

    /// <summary>Sets <paramref name="ttl"/> on <paramref name="fd"/> unless it is 0 (as before) or already set.</summary>
    public void Apply(int fd, byte ttl, bool ipv6)
    {
        if (ttl == 0 || ttl == _current)
        {
            return;
        }

        if (Set(fd, ttl, ipv6))
        {
            _current = ttl;
        }
    }

    /// <summary>Sets IP_TTL (IPv6: IPV6_UNICAST_HOPS) on <paramref name="fd"/>; false when the kernel refused.</summary>
    public static bool Set(int fd, byte ttl, bool ipv6) =>
        (ipv6
            ? Libc.SetSockOptInt(fd, Libc.IPPROTO_IPV6, Libc.IPV6_UNICAST_HOPS, ttl)
            : Libc.SetSockOptInt(fd, Libc.IPPROTO_IP, Libc.IP_TTL, ttl)) == 0;
}
