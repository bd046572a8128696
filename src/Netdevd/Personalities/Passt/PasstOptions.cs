using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>What a passt command line asked for (the options netdevd honours).</summary>
internal sealed record PasstOptions
{
    public bool Foreground { get; init; }

    public bool Quiet { get; init; }

    public bool Debug { get; init; }

    public string? LogFile { get; init; }

    public string? PidFile { get; init; }

    /// <summary>-s: the unix socket QEMU connects to with its stream netdev; null = /tmp/passt_N.socket.</summary>
    public string? SocketPath { get; init; }

    /// <summary>--vhost-user: serve --socket as a vhost-user back-end (QEMU's -netdev vhost-user) instead of the stream framing.</summary>
    public bool VhostUser { get; init; }

    /// <summary>-1: leave when the first client disconnects.</summary>
    public bool OneOff { get; init; }

    public IReadOnlyList<PortForward> Forwards { get; init; } = [];

    /// <summary>-a: the guest's address (its DHCP lease); null = QEMU's 10.0.2.15.</summary>
    public IPAddress? Address { get; init; }

    public int PrefixLength { get; init; } = 24;

    /// <summary>-g: the gateway (the virtual host); null = network + 2.</summary>
    public IPAddress? Gateway { get; init; }

    public string? Hostname { get; init; }

    /// <summary>--mtu: the MTU the guest is told (DHCP option 26, the RA's MTU option); null: not told (also --mtu 0).</summary>
    public int? Mtu { get; init; }

    public IReadOnlyList<string> Search { get; init; } = [];

    public bool Ipv4Only { get; init; }

    public bool Ipv6Only { get; init; }

    /// <summary>-a with an IPv6 address: its /64 is the prefix the guest is told.</summary>
    public IPAddress? Address6 { get; init; }

    /// <summary>-g with an IPv6 address: in that /64 or link-local.</summary>
    public IPAddress? Gateway6 { get; init; }

    /// <summary>--no-map-gw (or --map-host-loopback none).</summary>
    public bool NoMapGateway { get; init; }

    public IPAddress? MapHostLoopback { get; init; }

    public IPAddress? MapHostLoopback6 { get; init; }

    public IPAddress? MapGuestAddress { get; init; }

    public IPAddress? MapGuestAddress6 { get; init; }

    /// <summary>The -t/-u specs that named an address: refused when their family is off.</summary>
    public IReadOnlyList<AddressedPortSpec> AddressedSpecs { get; init; } = [];
}
