using System.Net;
using Netdevd.Personalities.Passt;

namespace Netdevd.Personalities.Pasta;

/// <summary>What a pasta command line asked for (the options netdevd honours).</summary>
internal sealed record PastaOptions
{
    /// <summary>The namespace: --netns PATH, or /proc/PID/ns/net for the PID operand.</summary>
    public required string NetnsPath { get; init; }

    /// <summary>The PID operand: pasta leaves when that process is gone.</summary>
    public int? TargetPid { get; init; }

    public string? UserNamespacePath { get; init; }

    public bool Foreground { get; init; }

    public bool Quiet { get; init; }

    public bool Debug { get; init; }

    public string? LogFile { get; init; }

    public string? PidFile { get; init; }

    public string IfName { get; init; } = "tap0";

    public int Mtu { get; init; } = 65520;

    /// <summary>--config-net: address, prefix and default route on the interface in the namespace.</summary>
    public bool ConfigureNetwork { get; init; }

    /// <summary>-a with an IPv4 address.</summary>
    public IPAddress? Address { get; init; }

    /// <summary>-n: IPv4's alone; an IPv6 address always gets a /64, as pasta configures it.</summary>
    public int PrefixLength { get; init; } = 24;

    /// <summary>-g with an IPv4 address.</summary>
    public IPAddress? Gateway { get; init; }

    /// <summary>-a with an IPv6 address: the namespace's, its /64 the user network's prefix.</summary>
    public IPAddress? Address6 { get; init; }

    /// <summary>-g with an IPv6 address: in that /64 or link-local (fe80::/64).</summary>
    public IPAddress? Gateway6 { get; init; }

    /// <summary>--dns-forward: the address in the namespace whose DNS queries go to the host's resolvers.</summary>
    public IPAddress? DnsForward { get; init; }

    /// <summary>--dns-forward with an IPv6 address: the same for IPv6 (fd00::3 when not given).</summary>
    public IPAddress? DnsForward6 { get; init; }

    /// <summary>--no-map-gw (or --map-host-loopback none): the gateway does not lead to the host's loopback.</summary>
    public bool NoMapGateway { get; init; }

    /// <summary>--map-host-loopback with an IPv4 address: it leads to the host's loopback instead of the gateway.</summary>
    public IPAddress? MapHostLoopback { get; init; }

    /// <summary>--map-host-loopback with an IPv6 address: the same for IPv6.</summary>
    public IPAddress? MapHostLoopback6 { get; init; }

    /// <summary>The -t/-u specs that named an address: refused when their family is off.</summary>
    public IReadOnlyList<AddressedPortSpec> AddressedSpecs { get; init; } = [];

    public bool Ipv4Only { get; init; }

    public bool Ipv6Only { get; init; }

    public IReadOnlyList<PortForward> Forwards { get; init; } = [];

    /// <summary>
    /// -T/-U: the namespace's port (<see cref="PortForward.HostPort"/>, on its loopback unless an
    /// address is given) to the host's loopback port (<see cref="PortForward.GuestPort"/>).
    /// </summary>
    public IReadOnlyList<PortForward> NamespaceForwards { get; init; } = [];

    /// <summary>Which of -t/-u/-T/-U are auto (given so, or not given at all, as pasta).</summary>
    public AutoPorts Auto { get; init; }

    /// <summary>--map-guest-addr with an IPv4 address: outside the network, it leads to the host's loopback.</summary>
    public IPAddress? MapGuestAddress { get; init; }

    /// <summary>--map-guest-addr with an IPv6 address: it leads to the host's ::1.</summary>
    public IPAddress? MapGuestAddress6 { get; init; }
}
