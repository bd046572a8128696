namespace Netdevd.Wire;

/// <summary>IP protocol numbers (IANA) as carried in the IPv4 protocol field and the IPv6 next-header chain.</summary>
public static class IpProtocol
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Icmpv6 = 58;
}
