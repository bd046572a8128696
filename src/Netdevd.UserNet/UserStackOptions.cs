using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet;

/// <summary>The addressing and policy of one user network (the parts the datapath needs).</summary>
public sealed record UserStackOptions
{
    public Ipv4Address Network { get; init; } = Ipv4Address.Create(10, 0, 2, 0);

    public Ipv4Address Netmask { get; init; } = Ipv4Address.Create(255, 255, 255, 0);

    /// <summary>The virtual host (gateway); connections to it reach the host's loopback.</summary>
    public Ipv4Address Host { get; init; } = Ipv4Address.Create(10, 0, 2, 2);

    public Ipv4Address Dns { get; init; } = Ipv4Address.Create(10, 0, 2, 3);

    public Ipv4Address DhcpStart { get; init; } = Ipv4Address.Create(10, 0, 2, 15);

    /// <summary>The guest link's MTU: the RA's MTU option, and what non-TCP datagrams to the guest are cut to.</summary>
    public int GuestMtu { get; init; } = UserStack.GuestLinkMtu;

    /// <summary>An address outside the network that leads to the host's loopback whatever <see cref="HostLoopback"/> says (pasta's --map-guest-addr).</summary>
    public Ipv4Address? HostAlias { get; init; }

    /// <summary>Whether the virtual host address leads to the host's loopback (slirp4netns can turn it off).</summary>
    public bool HostLoopback { get; init; } = true;

    /// <summary>restrict=on: only the virtual services and the forwards.</summary>
    public bool Restrict { get; init; }

    public NatLimits Limits { get; init; } = new();

    /// <summary>guestfwd rules: guest connections to Server:Port go to the rule's target.</summary>
    public IReadOnlyList<GuestForwardRule> GuestForwards { get; init; } = [];

    // IPv6 (QEMU's ipv6=..., ipv6-prefix, ipv6-prefixlen, ipv6-host, ipv6-dns). Off unless the owner
    // turns it on, so a stack built for IPv4 alone answers no IPv6 and runs no advertisement timer.

    /// <summary>Whether the stack speaks IPv6 to the guest (EtherType 0x86DD): NDP, DHCPv6, ICMPv6, NAT.</summary>
    public bool Ipv6Enabled { get; init; }

    public Ipv6Address Ipv6Prefix { get; init; } = new(0xFEC0_0000_0000_0000UL, 0);

    public int Ipv6PrefixLength { get; init; } = 64;

    /// <summary>The virtual host (router) in the prefix; connections to it reach the host's ::1.</summary>
    public Ipv6Address Ipv6Host { get; init; } = new(0xFEC0_0000_0000_0000UL, 2);

    public Ipv6Address Ipv6Dns { get; init; } = new(0xFEC0_0000_0000_0000UL, 3);

    /// <summary>Whether <see cref="Ipv6Host"/> leads to the host's ::1 (pasta maps each family on its own).</summary>
    public bool Ipv6HostLoopback { get; init; } = true;

    /// <summary>
    /// An address that leads to the host's ::1 whatever <see cref="Ipv6HostLoopback"/> says (pasta's
    /// IPv6 --map-guest-addr); it may lie in the prefix, where the stack answers solicitations for it.
    /// </summary>
    public Ipv6Address? Ipv6HostAlias { get; init; }

    /// <summary>
    /// The address stateful DHCPv6 assigns the guest (passt's -a): the advertisement then sets the
    /// managed flag. Null: stateless DHCPv6 and no M flag, as libslirp.
    /// </summary>
    public Ipv6Address? Ipv6DhcpAddress { get; init; }

    /// <summary>Names for the RA's DNSSL option and DHCPv6's domain list (dnssearch, else domainname).</summary>
    public IReadOnlyList<string> Ipv6DnsSearch { get; init; } = [];
}
