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

    /// <summary>Whether the virtual host address leads to the host's loopback (slirp4netns can turn it off).</summary>
    public bool HostLoopback { get; init; } = true;

    /// <summary>restrict=on: only the virtual services and the forwards.</summary>
    public bool Restrict { get; init; }

    public NatLimits Limits { get; init; } = new();

    /// <summary>guestfwd rules: guest connections to Server:Port go to the rule's target.</summary>
    public IReadOnlyList<GuestForwardRule> GuestForwards { get; init; } = [];
}
