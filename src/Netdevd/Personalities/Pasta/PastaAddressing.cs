using System.Globalization;
using System.Net;
using System.Net.Sockets;
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

    private static readonly IPAddress LinkLocalPrefix = IPAddress.Parse("fe80::");

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
        var v6 = useIpv6 ? Ipv6Plan(options) : null;
        guest = useIpv4 ? new Ipv4Setup(v4.Address, options.PrefixLength, v4.Gateway, null) : null;
        guest6 = v6 is null ? null : new Ipv6Setup(v6.Address, 64, v6.Route);
        var hostfwd = new List<Netdevd.Qapi.Schema.String>();
        foreach (var f in options.Forwards)
        {
            // As pasta: a port without an address is bound for both families; IPv6 clients reach
            // the namespace's IPv6 address, IPv4 clients its IPv4 address.
            var v6Host = f.HostAddress?.AddressFamily == AddressFamily.InterNetworkV6 && !f.HostAddress.IsIPv4MappedToIPv6;
            if (useIpv4 && !v6Host)
            {
                hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = f.ToHostfwd() });
            }

            if (v6 is not null && (f.HostAddress is null || v6Host))
            {
                hostfwd.Add(new Netdevd.Qapi.Schema.String { Str = f.ToHostfwd(f.HostAddress ?? IPAddress.IPv6Any, v6.Address) });
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
            Mtu = (uint)options.Mtu,
        };
    }

    private sealed record V4(IPAddress Address, IPAddress Network, IPAddress Gateway, IPAddress Dns, bool HostLoopback, IPAddress? Alias);

    private sealed record V6(IPAddress Address, IPAddress Prefix, IPAddress Host, IPAddress Route, IPAddress Dns, bool HostLoopback, IPAddress? Alias);

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

        var (hostLoopback, alias, option) = Loopback(options.MapHostLoopback, options.MapGuestAddress, gateway, gateway, options.NoMapGateway);
        if (alias is not null && (Ipv4Arguments.InNetwork(alias, prefix, 0).Equals(network) || alias.Equals(dns)))
        {
            throw new PersonalityUsageException(
                $"{Program}: {option} {alias} must lie outside the namespace's network {network}/{prefix} and differ from --dns-forward");
        }

        return new V4(address, network, gateway, dns, hostLoopback, alias);
    }

    private static V6 Ipv6Plan(PastaOptions options)
    {
        var address = options.Address6 ?? DefaultAddress6;
        var prefix = Prefix64(address);
        IPAddress host, route;
        if (options.Gateway6 is { } gateway)
        {
            if (gateway.Equals(address))
            {
                throw new PersonalityUsageException($"{Program}: --gateway {gateway} is the namespace's address");
            }

            if (Prefix64(gateway).Equals(prefix))
            {
                (host, route) = (gateway, gateway);
            }
            else if (Prefix64(gateway).Equals(LinkLocalPrefix))
            {
                // The stack answers as the gateway on fe80:: and in the /64 with one identifier.
                (host, route) = (WithIdentifier(prefix, gateway), gateway);
            }
            else
            {
                // pasta takes it, announces it, and with --config-net fails adding the route.
                throw new PersonalityUsageException(options.ConfigureNetwork
                    ? $"{Program}: Couldn't set IPv6 route(s) in guest: {(gateway.IsIPv6Multicast ? "Invalid argument" : "No route to host")}"
                    : $"{Program}: --gateway {gateway} is neither in the namespace's network {prefix}/64 nor link-local: netdevd's user network serves the gateway on the namespace's link");
            }

            if (host.Equals(address))
            {
                throw new PersonalityUsageException(
                    $"{Program}: --gateway {gateway} has the interface identifier of the namespace's address {address}: netdevd's gateway answers on fe80:: and in the /64 with one identifier");
            }
        }
        else
        {
            host = Distinct(prefix, [2, 1], address);
            route = WithIdentifier(LinkLocalPrefix, host);
        }

        var dns = options.DnsForward6 ?? Distinct(prefix, [3, 4, 5], address, host);
        if (dns.Equals(address) || dns.Equals(host) || dns.Equals(route))
        {
            throw new PersonalityUsageException($"{Program}: --dns-forward {dns} is the namespace's address or the gateway");
        }

        var (hostLoopback, alias, option) = Loopback(options.MapHostLoopback6, options.MapGuestAddress6, host, route, options.NoMapGateway);
        if (alias is not null && (alias.Equals(address) || alias.Equals(host) || alias.Equals(route) || alias.Equals(dns) ||
                                  (Prefix64(alias).Equals(LinkLocalPrefix) && (SameIdentifier(alias, host) || SameIdentifier(alias, dns)))))
        {
            throw new PersonalityUsageException($"{Program}: {option} {alias} is the namespace's address, the gateway or the DNS address");
        }

        return new V6(address, prefix, host, route, dns, hostLoopback, alias);
    }

    /// <summary>
    /// pasta's mapping of one family: --map-host-loopback ADDR maps ADDR (the gateway then only if it
    /// is ADDR; --no-map-gw does not undo it), else the gateway unless --no-map-gw. --map-guest-addr
    /// leads to the host's loopback too in netdevd (its namespace has no host address to shadow);
    /// the user netdev has one such alias per family, so two different ones are refused.
    /// </summary>
    private static (bool HostLoopback, IPAddress? Alias, string Option) Loopback(IPAddress? mapHostLoopback, IPAddress? mapGuest, IPAddress gateway, IPAddress route, bool noMapGateway)
    {
        if (mapHostLoopback is null)
        {
            return (!noMapGateway, mapGuest, "--map-guest-addr");
        }

        if (mapHostLoopback.Equals(gateway) || mapHostLoopback.Equals(route))
        {
            return (true, mapGuest, "--map-guest-addr");
        }

        if (mapGuest is not null && !mapGuest.Equals(mapHostLoopback))
        {
            throw new PersonalityUsageException(
                $"{Program}: --map-host-loopback {mapHostLoopback} and --map-guest-addr {mapGuest}: netdevd's user network leads one address per family besides the gateway to the host");
        }

        return (false, mapHostLoopback, "--map-host-loopback");
    }

    private static IPAddress Prefix64(IPAddress a)
    {
        var b = a.GetAddressBytes();
        b.AsSpan(8).Clear();
        return new IPAddress(b);
    }

    /// <summary><paramref name="prefix"/>'s first 64 bits with <paramref name="identifier"/>'s last 64.</summary>
    private static IPAddress WithIdentifier(IPAddress prefix, IPAddress identifier)
    {
        var b = prefix.GetAddressBytes();
        identifier.GetAddressBytes().AsSpan(8).CopyTo(b.AsSpan(8));
        return new IPAddress(b);
    }

    private static bool SameIdentifier(IPAddress a, IPAddress b) => a.GetAddressBytes().AsSpan(8).SequenceEqual(b.GetAddressBytes().AsSpan(8));

    /// <summary>The prefix with the first of <paramref name="offsets"/> as its last byte that is none of <paramref name="taken"/>.</summary>
    private static IPAddress Distinct(IPAddress prefix, ReadOnlySpan<byte> offsets, params ReadOnlySpan<IPAddress> taken)
    {
        foreach (var offset in offsets)
        {
            var b = prefix.GetAddressBytes();
            b[15] = offset;
            var candidate = new IPAddress(b);
            var free = true;
            foreach (var t in taken)
            {
                free &= !SameIdentifier(candidate, t) || !Prefix64(t).Equals(prefix);
            }

            if (free)
            {
                return candidate;
            }
        }

        throw new PersonalityUsageException($"{Program}: no room for the gateway and DNS addresses next to {taken[0]}");
    }
}
