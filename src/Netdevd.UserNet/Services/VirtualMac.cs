using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// The Ethernet addresses the user stack answers with: libslirp's special_ethaddr 52:55 followed
/// by the IPv4 address (10.0.2.2 is 52:55:0a:00:02:02), so each virtual host has its own MAC and
/// guests see the same addresses they saw with QEMU.
/// </summary>
public static class VirtualMac
{
    public static MacAddress For(Ipv4Address address) => MacAddress.FromValue(0x5255_0000_0000UL | address.Value);

    /// <summary>libslirp's in6_compute_ethaddr: 52:56 followed by the last four octets (fec0::2 is 52:56:00:00:00:02).</summary>
    public static MacAddress For(Ipv6Address address) => MacAddress.FromValue(0x5256_0000_0000UL | (address.Low & 0xFFFF_FFFF));
}
