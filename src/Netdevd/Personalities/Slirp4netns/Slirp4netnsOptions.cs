using System.Net;

namespace Netdevd.Personalities.Slirp4netns;

/// <summary>What a slirp4netns command line asked for (slirp4netns 1.2's options).</summary>
internal sealed record Slirp4netnsOptions
{
    /// <summary>The network namespace to serve: /proc/PID/ns/net, or the path given with --netns-type=path.</summary>
    public required string NetnsPath { get; init; }

    /// <summary>The target process with --netns-type=pid (its user namespace is joined when we are not root).</summary>
    public int? TargetPid { get; init; }

    public string TapName { get; init; } = "tap0";

    /// <summary>-c: give the tap the guest address, a default route and bring it up.</summary>
    public bool Configure { get; init; }

    /// <summary>-e FD: exit once it becomes readable or is closed.</summary>
    public int? ExitFd { get; init; }

    /// <summary>-r FD: one byte "1" once the network is ready.</summary>
    public int? ReadyFd { get; init; }

    public int Mtu { get; init; } = 1500;

    public bool EnableIpv6 { get; init; }

    public string? ApiSocket { get; init; }

    /// <summary>--cidr: the virtual network (10.0.2.0/24); host .2, DNS .3, DHCP from .15, guest .100.</summary>
    public IPAddress Network { get; init; } = IPAddress.Parse("10.0.2.0");

    public int PrefixLength { get; init; } = 24;

    public bool DisableHostLoopback { get; init; }

    public string? UserNamespacePath { get; init; }

    /// <summary>--macaddress (with -c): the tap's MAC address.</summary>
    public string? MacAddress { get; init; }

    /// <summary>--enable-sandbox: serve from a mount namespace of its own that holds only what is needed, with CAP_NET_BIND_SERVICE only.</summary>
    public bool EnableSandbox { get; init; }

    /// <summary>--enable-seccomp: slirp4netns's list of system calls fails with EPERM on every thread.</summary>
    public bool EnableSeccomp { get; init; }

    /// <summary>The address -c gives the tap and an empty guest_addr of add_hostfwd means (network + 100).</summary>
    public IPAddress GuestAddress => Offset(100);

    public IPAddress HostAddress => Offset(2);

    public IPAddress DnsAddress => Offset(3);

    public IPAddress DhcpStart => Offset(15);

    private IPAddress Offset(uint n) => Ipv4Arguments.InNetwork(Network, PrefixLength, n);
}
