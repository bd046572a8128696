using System.Globalization;
using System.Net;
using Netdevd.Personalities.Passt;
using Netdevd.Qapi.Schema;
using Netdevd.Run;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's addressing as a <c>user</c> netdev: the IPv4 network of -a/-n (10.0.2.15/24 by default)
/// with the gateway and DNS inside it, and, unless -4 or a kernel without IPv6 (pasta too leaves
/// IPv6 off then), the IPv6 /64 of an IPv6 -a (fd00::15 by default; pasta copies the host's, netdevd's
/// network has its own), its gateway (-g: in the /64 or link-local) leading to the host's ::1, DNS
/// at ::3; -6 leaves IPv4 off. --map-host-loopback, --map-guest-addr and --no-map-gw per family.
/// </summary>
internal static class PastaAddressing
{
    private const string Program = PastaCommandLine.Program;

    /// <summary>
    /// The IPv6 network without -a: a unique local one as slirp4netns's (fd00::/64, gateway ::2,
    /// DNS ::3) rather than QEMU's fec0::, which the kernel scopes as site-local.
    /// </summary>
    private static readonly IPAddress DefaultAddress6 = IPAddress.Parse("fd00::15");

    /// <summary>
    /// The user netdev; <paramref name="guest"/> and <paramref name="guest6"/> are what --config-net
    /// sets (the IPv6 route goes through the gateway as given, else the router's link-local fe80::2).
    /// </summary>
    internal static NetdevUserOptions UserOptions(PastaOptions options, bool hostHasIpv6, out Ipv4Setup? guest, out Ipv6Setup? guest6)
    {
        var useIpv4 = !options.Ipv6Only;
        var useIpv6 = !options.Ipv4Only && hostHasIpv6;
        if (!useIpv4 && !useIpv6)
        {
            throw new PersonalityUsageException($"{Program}: --ipv6-only, but this kernel has no IPv6");
        }

        // As pasta: a spec bound to an address of a family that is off cannot bind; pasta exits.
        AddressedPortSpec.CheckFamilies(Program, options.AddressedSpecs, useIpv4, useIpv6);

        var v4 = Ipv4Plan(options);
        var v6 = useIpv6
            ? Ipv6Addressing.Plan(Program, "namespace", options.Address6 ?? DefaultAddress6, options.Gateway6, options.DnsForward6,
                options.MapHostLoopback6, options.MapGuestAddress6, options.NoMapGateway, options.ConfigureNetwork)
            : null;
        guest = useIpv4 ? new Ipv4Setup(v4.Address, options.PrefixLength, v4.Gateway, null) : null;
        guest6 = v6 is null ? null : new Ipv6Setup(v6.Address, 64, v6.Route);
        var hostfwd = new List<Netdevd.Qapi.Schema.String>();
        foreach (var f in options.Forwards)
        {
            foreach (var rule in HostForwardRules(f, useIpv4, v6?.Address))
            {
                hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = rule });
            }
        }

        // ipv4=on or ipv6=on alone would mean the other family off (QEMU's rule): both said.
        return new NetdevUserOptions
        {
            Net = useIpv4 ? string.Create(CultureInfo.InvariantCulture, $"{v4.Network}/{options.PrefixLength}") : null,
            Host = useIpv4 ? v4.Gateway.ToString() : null,
            Dns = useIpv4 ? v4.Dns.ToString() : null,
            Dhcpstart = useIpv4 ? v4.Address.ToString() : null,
            Hostfwd = hostfwd.Count > 0 ? hostfwd : null,
            Ipv4 = useIpv4,
            Ipv6 = useIpv6,
            Ipv6Prefix = v6?.Prefix.ToString(),
            Ipv6Prefixlen = v6 is null ? null : 64,
            Ipv6Host = v6?.Host.ToString(),
            Ipv6Dns = v6?.Dns.ToString(),
            HostLoopback = v4.HostLoopback,
            HostAlias = useIpv4 ? v4.Alias?.ToString() : null,
            Ipv6HostLoopback = v6?.HostLoopback,
            Ipv6HostAlias = v6?.Alias?.ToString(),
            // pasta's DHCPv6 assigns the namespace's address on the tap as passt's does (what
            // --config-net sets; a namespace that runs a DHCPv6 client itself gets the same).
            Ipv6DhcpAddress = v6?.Address.ToString(),
            Mtu = (uint)options.Mtu,
        };
    }

    /// <summary>
    /// The user netdev's hostfwd rules for <paramref name="f"/>. As pasta: a port without an
    /// address is bound for both families in use; IPv6 clients reach the namespace's IPv6 address
    /// (<paramref name="address6"/>, null with IPv6 off), IPv4 clients its IPv4 address.
    /// </summary>
    internal static IEnumerable<string> HostForwardRules(PortForward f, bool useIpv4, IPAddress? address6)
    {
        var v6Host = f.HostAddress is { } h && InetPton.IsIpv6(h);
        if (useIpv4 && !v6Host)
        {
            yield return f.ToHostfwd();
        }

        if (address6 is not null && (f.HostAddress is null || v6Host))
        {
            yield return f.ToHostfwd(f.HostAddress ?? IPAddress.IPv6Any, address6);
        }
    }

    private sealed record V4(IPAddress Address, IPAddress Network, IPAddress Gateway, IPAddress Dns, bool HostLoopback, IPAddress? Alias);

    private static V4 Ipv4Plan(PastaOptions options)
    {
        var address = options.Address ?? IPAddress.Parse("10.0.2.15");
        var prefix = options.PrefixLength;
        var network = Ipv4Arguments.InNetwork(address, prefix, 0);
        var gateway = options.Gateway ?? Ipv4Arguments.InNetwork(address, prefix, 2);
        var dns = options.DnsForward ?? Ipv4Arguments.InNetwork(address, prefix, 3);
        if (!Ipv4Arguments.InNetwork(gateway, prefix, 0).Equals(network) || gateway.Equals(address))
        {
            throw new PersonalityUsageException(
                $"{Program}: --gateway {gateway} is outside the namespace's network {network}/{prefix} (or is its address): netdevd's user network serves the gateway inside it");
        }

        // The DNS address may lie outside the network (podman's 169.254.1.1): the namespace
        // reaches it through the gateway like any other address.
        if (dns.Equals(address) || dns.Equals(gateway))
        {
            throw new PersonalityUsageException($"{Program}: --dns-forward {dns} is the namespace's address or the gateway");
        }

        var (hostLoopback, alias, option) = HostMapping.Loopback(Program, options.MapHostLoopback, options.MapGuestAddress, gateway, gateway, options.NoMapGateway);
        if (alias is not null && (Ipv4Arguments.InNetwork(alias, prefix, 0).Equals(network) || alias.Equals(dns)))
        {
            throw new PersonalityUsageException(
                $"{Program}: {option} {alias} must lie outside the namespace's network {network}/{prefix} and differ from --dns-forward");
        }

        return new V4(address, network, gateway, dns, hostLoopback, alias);
    }
}
