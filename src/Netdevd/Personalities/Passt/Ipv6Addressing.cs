using System.Net;

namespace Netdevd.Personalities.Passt;

/// <summary>The IPv6 side of a pasta or passt user network: address, /64, gateway, route, DNS, and what leads to the host's ::1.</summary>
internal sealed record Ipv6Plan(IPAddress Address, IPAddress Prefix, IPAddress Host, IPAddress Route, IPAddress Dns, bool HostLoopback, IPAddress? Alias);

/// <summary>
/// pasta's and passt's IPv6 addressing as a <c>user</c> netdev serves it: the /64 of the address
/// (pasta configures an IPv6 -a as /64, passt announces its /64), the gateway (-g) in it or
/// link-local (the stack answers on both with one interface identifier), else ::2 of the /64
/// through its link-local twin; DNS ::3 unless given; and each family's host mapping.
/// </summary>
internal static class Ipv6Addressing
{
    private static readonly IPAddress LinkLocalPrefix = IPAddress.Parse("fe80::");

    public static Ipv6Plan Plan(string program, string who, IPAddress address, IPAddress? gateway6, IPAddress? dnsForward6,
        IPAddress? mapHostLoopback6, IPAddress? mapGuest6, bool noMapGateway, bool configure)
    {
        var prefix = Prefix64(address);
        IPAddress host, route;
        if (gateway6 is { } gateway)
        {
            if (gateway.Equals(address))
            {
                throw new PersonalityUsageException($"{program}: --gateway {gateway} is the {who}'s address");
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
                throw new PersonalityUsageException(configure
                    ? $"{program}: Couldn't set IPv6 route(s) in guest: {(gateway.IsIPv6Multicast ? "Invalid argument" : "No route to host")}"
                    : $"{program}: --gateway {gateway} is neither in the {who}'s network {prefix}/64 nor link-local: netdevd's user network serves the gateway on the {who}'s link");
            }

            if (host.Equals(address))
            {
                throw new PersonalityUsageException(
                    $"{program}: --gateway {gateway} has the interface identifier of the {who}'s address {address}: netdevd's gateway answers on fe80:: and in the /64 with one identifier");
            }
        }
        else
        {
            host = Distinct(program, prefix, [2, 1], address);
            route = WithIdentifier(LinkLocalPrefix, host);
        }

        var dns = dnsForward6 ?? Distinct(program, prefix, [3, 4, 5], address, host);
        if (dns.Equals(address) || dns.Equals(host) || dns.Equals(route))
        {
            throw new PersonalityUsageException($"{program}: --dns-forward {dns} is the {who}'s address or the gateway");
        }

        var (hostLoopback, alias, option) = HostMapping.Loopback(program, mapHostLoopback6, mapGuest6, host, route, noMapGateway);
        if (alias is not null && (alias.Equals(address) || alias.Equals(host) || alias.Equals(route) || alias.Equals(dns) ||
                                  (Prefix64(alias).Equals(LinkLocalPrefix) && (SameIdentifier(alias, host) || SameIdentifier(alias, dns)))))
        {
            throw new PersonalityUsageException($"{program}: {option} {alias} is the {who}'s address, the gateway or the DNS address");
        }

        return new Ipv6Plan(address, prefix, host, route, dns, hostLoopback, alias);
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
    private static IPAddress Distinct(string program, IPAddress prefix, ReadOnlySpan<byte> offsets, params ReadOnlySpan<IPAddress> taken)
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

        throw new PersonalityUsageException($"{program}: no room for the gateway and DNS addresses next to {taken[0]}");
    }
}
