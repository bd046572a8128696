using Netdevd.Wire;

namespace Netdevd.UserNet.Config;

/// <summary>
/// The validated IPv4 configuration of a <c>user</c> netdev, with QEMU's defaults (historic slirp:
/// 10.0.2.0/24, host .2, DNS .3, DHCP from .15). Built from <c>NetdevUserOptions</c> by
/// <see cref="UserNetConfigParser"/>; IPv6 members are carried as given for the next stage.
/// </summary>
public sealed record UserNetConfig
{
    /// <summary>libslirp's NB_BOOTP_CLIENTS: the DHCP pool is this many addresses from <see cref="DhcpStart"/>.</summary>
    public const int DhcpPoolSize = 16;

    /// <summary>libslirp's LEASE_TIME (24 h).</summary>
    public const uint DhcpLeaseSeconds = 86400;

    public const string DefaultResolvConfPath = "/etc/resolv.conf";

    public bool Ipv4Enabled { get; init; } = true;

    public bool Ipv6Enabled { get; init; } = true;

    public bool Restrict { get; init; }

    /// <summary><c>host-loopback</c> (netdevd's, for slirp4netns's --disable-host-loopback).</summary>
    public bool HostLoopback { get; init; } = true;

    public Ipv4Address Network { get; init; } = Ipv4Address.Create(10, 0, 2, 0);

    public Ipv4Address Netmask { get; init; } = Ipv4Address.Create(255, 255, 255, 0);

    public Ipv4Address Host { get; init; } = Ipv4Address.Create(10, 0, 2, 2);

    public Ipv4Address Dns { get; init; } = Ipv4Address.Create(10, 0, 2, 3);

    public Ipv4Address DhcpStart { get; init; } = Ipv4Address.Create(10, 0, 2, 15);

    /// <summary>netdevd's <c>mtu</c>: the guest link's MTU, told by DHCP and RA; null = 1500, not told by DHCP (QEMU).</summary>
    public int? Mtu { get; init; }

    /// <summary>netdevd's <c>host-alias</c>: an address outside the network that leads to the host's loopback.</summary>
    public Ipv4Address? HostAlias { get; init; }

    /// <summary>Option 12 in DHCP replies (QEMU's <c>hostname</c>, libslirp's vhostname).</summary>
    public string? Hostname { get; init; }

    /// <summary>Option 15.</summary>
    public string? DomainName { get; init; }

    /// <summary>Option 119 entries, in the order given.</summary>
    public IReadOnlyList<string> DnsSearch { get; init; } = [];

    /// <summary>Root of the read-only TFTP server; null = no TFTP.</summary>
    public string? TftpRoot { get; init; }

    /// <summary>BOOTP <c>file</c> field.</summary>
    public string? BootFile { get; init; }

    /// <summary>Option 66.</summary>
    public string? TftpServerName { get; init; }

    /// <summary>The SMB server address given; null means x.x.2.4 of the network, as in QEMU.</summary>
    public Ipv4Address? SmbServer { get; init; }

    /// <summary><c>smb=DIR</c>: the directory the host's smbd shares as <c>qemu</c>; null = no SMB.</summary>
    public string? SmbExport { get; init; }

    /// <summary>The smbd to run (a netdevd setting, not a QEMU option; QEMU's is fixed at build time).</summary>
    public string SmbdPath { get; init; } = Netdevd.UserNet.Host.SmbServer.DefaultSmbd;

    public IReadOnlyList<string> HostForwards { get; init; } = [];

    public IReadOnlyList<string> GuestForwards { get; init; } = [];

    /// <summary>netdevd's <c>dns-host</c>: names the DNS proxy answers itself.</summary>
    public IReadOnlyList<Services.Dns.DnsHostEntry> DnsHosts { get; init; } = [];

    /// <summary>Where the DNS forwarder reads the host's resolvers (a netdevd setting, not a QEMU option).</summary>
    public string ResolvConfPath { get; init; } = DefaultResolvConfPath;

    public string? Ipv6Prefix { get; init; }

    public long? Ipv6PrefixLength { get; init; }

    public string? Ipv6Host { get; init; }

    public string? Ipv6Dns { get; init; }

    /// <summary>netdevd's <c>ipv6-host-loopback</c>: null follows <see cref="HostLoopback"/>.</summary>
    public bool? Ipv6HostLoopback { get; init; }

    /// <summary>netdevd's <c>ipv6-host-alias</c>: an IPv6 address that leads to the host's ::1.</summary>
    public string? Ipv6HostAlias { get; init; }

    /// <summary>netdevd's <c>ipv6-dhcp-address</c>: the address DHCPv6 assigns the guest; null = stateless DHCPv6 (QEMU).</summary>
    public string? Ipv6DhcpAddress { get; init; }

    /// <summary>QEMU's info_str: <c>net=10.0.2.0,restrict=off</c>.</summary>
    public string InfoString => $"net={Network},restrict={(Restrict ? "on" : "off")}";

    public bool IsInNetwork(Ipv4Address address) => address.IsInNetwork(Network, Netmask);

    /// <summary>The directed broadcast of the virtual network (10.0.2.255).</summary>
    public Ipv4Address NetworkBroadcast => new(Network.Value | ~Netmask.Value);
}
