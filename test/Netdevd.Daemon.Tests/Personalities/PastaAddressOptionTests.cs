using Netdevd.Personalities;
using Netdevd.Personalities.Pasta;
using Netdevd.Qapi.Schema;
using Netdevd.Run;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// pasta's address options with IPv6 (-a, -g, --dns-forward, --map-guest-addr,
/// --map-host-loopback, --no-map-gw), -n as IPv4's alone, and -4/-6 against -t/-u specs bound to an
/// address of the other family: pasta's values, pasta's refusals and texts (passt 2025-01's conf.c),
/// and the lines rootlesskit and podman pass.
/// </summary>
public sealed class PastaAddressOptionTests
{
    private static NetdevUserOptions User(string[] args, out Ipv4Setup? v4, out Ipv6Setup? v6, bool hostHasIpv6 = true) =>
        PastaAddressing.UserOptions(PastaCommandLine.Parse([.. args, "--netns", "/run/netns/n1"], out _)!, hostHasIpv6, out v4, out v6);

    private static string Route(Ipv6Setup? v6) => $"{v6!.Address}/{v6.PrefixLength} via {v6.Gateway}";

    [Fact]
    public void Rootlesskits_line_gives_both_families_their_address_gateway_and_dns()
    {
        // rootlesskit 2's pasta driver with IPv6 on (its fix for pasta copying the host's addresses).
        var user = User(
            ["--stderr", "--ns-ifname=tap0", "--mtu=65520", "--config-net", "--address=10.0.2.100", "--netmask=24", "--gateway=10.0.2.2",
             "--dns-forward=10.0.2.3", "--address=fd00::100", "--gateway=fd00::2", "--dns-forward=fd00::3", "--tcp-ports=none", "--udp-ports=none"],
            out var v4, out var v6);
        Assert.Equal(("10.0.2.0/24", "10.0.2.2", "10.0.2.3", "10.0.2.100"), (user.Net, user.Host, user.Dns, user.Dhcpstart));
        Assert.Equal(("fd00::", (long?)64, "fd00::2", "fd00::3"), (user.Ipv6Prefix, user.Ipv6Prefixlen, user.Ipv6Host, user.Ipv6Dns));
        Assert.Equal("fd00::100/64 via fd00::2", Route(v6));
        // pasta's DHCPv6 assigns the namespace's address too, as passt's does.
        Assert.Equal("fd00::100", user.Ipv6DhcpAddress);
        Assert.Equal("10.0.2.100", v4!.Address.ToString());
        Assert.Equal((true, true, null, null), (user.HostLoopback, user.Ipv6HostLoopback, user.HostAlias, user.Ipv6HostAlias));
    }

    [Fact]
    public void Podmans_rootless_netns_line_maps_its_ipv6_host_address_and_moves_dns_off_the_namespaces_address()
    {
        // podman's pasta constants: namespace fc00::3, gateway fc00::1, host.containers.internal
        // 169.254.1.2 and fc00::2 (in the /64: the stack answers its solicitations), --no-map-gw.
        var user = User(
            ["--config-net", "-a", "fc00::3", "-g", "fc00::1", "--dns-forward", "169.254.1.1", "-t", "none", "-u", "none", "-T", "none", "-U", "none",
             "--no-map-gw", "--quiet", "--map-guest-addr", "169.254.1.2", "--map-guest-addr", "fc00::2"],
            out _, out var v6);
        Assert.Equal("fc00::3/64 via fc00::1", Route(v6));
        Assert.Equal(("fc00::", "fc00::1", "fc00::4"), (user.Ipv6Prefix, user.Ipv6Host, user.Ipv6Dns));
        Assert.Equal((false, false, "169.254.1.2", "fc00::2"), (user.HostLoopback, user.Ipv6HostLoopback, user.HostAlias, user.Ipv6HostAlias));
        Assert.Equal("169.254.1.1", user.Dns);

        // podman's default line: the IPv6 host address outside the default network.
        user = User(["--config-net", "--dns-forward", "169.254.1.1", "--no-map-gw", "--map-guest-addr", "169.254.1.2", "--map-guest-addr", "fc00::2"], out _, out v6);
        Assert.Equal(("fd00::", "fd00::2", "fc00::2"), (user.Ipv6Prefix, user.Ipv6Host, user.Ipv6HostAlias));
        Assert.Equal("fd00::15/64 via fe80::2", Route(v6));
        Assert.Equal("fd00::15", user.Ipv6DhcpAddress);
        Assert.Null(User(["--config-net", "-4"], out _, out _).Ipv6DhcpAddress);
    }

    [Fact]
    public void Ipv6_gateway_in_the_network_or_link_local_the_default_beside_the_address_and_netmask_for_ipv4_alone()
    {
        // A link-local gateway: the route through it, the stack's address in the /64 with its identifier.
        var user = User(["--config-net", "-a", "2001:db8:1::15", "-g", "fe80::1"], out _, out var v6);
        Assert.Equal(("2001:db8:1::", "2001:db8:1::1", "2001:db8:1::3"), (user.Ipv6Prefix, user.Ipv6Host, user.Ipv6Dns));
        Assert.Equal("2001:db8:1::15/64 via fe80::1", Route(v6));

        // No -g: the gateway is ::2 of the address's /64 (::1 when the namespace is ::2), through its link-local twin.
        user = User(["-a", "2001:db8:1:2:3::9"], out _, out v6);
        Assert.Equal(("2001:db8:1:2::", "2001:db8:1:2::2", "2001:db8:1:2::3"), (user.Ipv6Prefix, user.Ipv6Host, user.Ipv6Dns));
        Assert.Equal("2001:db8:1:2:3::9/64 via fe80::2", Route(v6));
        user = User(["-a", "fd00::2"], out _, out v6);
        Assert.Equal(("fd00::1", "fd00::3"), (user.Ipv6Host, user.Ipv6Dns));
        Assert.Equal("fd00::2/64 via fe80::1", Route(v6));

        // -n is IPv4's: the IPv6 address keeps its /64, as pasta configures it; a dotted mask too, as pasta.
        user = User(["-a", "fd00::15", "-n", "16", "-a", "10.7.0.9"], out var v4, out v6);
        Assert.Equal(("10.7.0.0/16", 16, "fd00::15/64 via fe80::2"), (user.Net, v4!.PrefixLength, Route(v6)));
        Assert.Equal("10.7.0.0/20", User(["-a", "10.7.0.9", "-n", "255.255.240.0"], out _, out _).Net);
        // pasta's strtoul in base 0: hex and octal; 0 (or no digits) means "not given".
        Assert.Equal("10.7.0.0/24", User(["-a", "10.7.0.9", "-n", "0x18"], out _, out _).Net);
        Assert.Equal("10.7.0.0/24", User(["-a", "10.7.0.9", "-n", "030"], out _, out _).Net);
        Assert.Equal("10.0.2.0/24", User(["-n", "0"], out _, out _).Net);

        // One address of each family: the last given wins.
        user = User(["-a", "fd00::1:5", "-a", "10.1.1.5", "-a", "fd00::15", "-g", "fd00::9", "-g", "fd00::7"], out v4, out v6);
        Assert.Equal(("10.1.1.5", "fd00::15/64 via fd00::7"), (v4!.Address.ToString(), Route(v6)));

        // -4: an IPv6 -a is ignored, as pasta.
        Assert.Null(User(["-4", "-a", "fd00::100", "-g", "fd00::2"], out _, out v6).Ipv6Prefix);
        Assert.Null(v6);
    }

    [Fact]
    public void Map_host_loopback_and_no_map_gw_are_per_family_and_none_turns_both_off()
    {
        // An IPv4 address: it leads to 127.0.0.1 and the IPv4 gateway no longer does; IPv6 keeps its default.
        var user = User(["--map-host-loopback", "169.254.1.3"], out _, out _);
        Assert.Equal((false, "169.254.1.3", true, null), (user.HostLoopback, user.HostAlias, user.Ipv6HostLoopback, user.Ipv6HostAlias));

        // The gateway itself: nothing changes; --no-map-gw does not undo an explicit mapping.
        user = User(["--map-host-loopback", "10.0.2.2", "--no-map-gw"], out _, out _);
        Assert.Equal((true, null, false), (user.HostLoopback, user.HostAlias, user.Ipv6HostLoopback));
        user = User(["--map-host-loopback", "fe80::2"], out _, out _);
        Assert.Equal((true, true, null), (user.HostLoopback, user.Ipv6HostLoopback, user.Ipv6HostAlias));

        // An IPv6 address in the network: it leads to ::1 instead of the gateway.
        user = User(["--map-host-loopback", "fd00::99"], out _, out _);
        Assert.Equal((true, false, "fd00::99"), (user.HostLoopback, user.Ipv6HostLoopback, user.Ipv6HostAlias));

        // none: neither family, and the gateways no longer either (later releases' fix of pasta 2025-01's refusal of it).
        user = User(["--map-host-loopback", "169.254.1.3", "--map-host-loopback", "none"], out _, out _);
        Assert.Equal((false, null, false, null), (user.HostLoopback, user.HostAlias, user.Ipv6HostLoopback, user.Ipv6HostAlias));

        // --map-guest-addr none clears both families; a later one sets its family again.
        user = User(["--map-guest-addr", "169.254.1.2", "--map-guest-addr", "fc00::2", "--map-guest-addr", "none", "--map-guest-addr", "fc00::5"], out _, out _);
        Assert.Equal((null, "fc00::5", true, true), (user.HostAlias, user.Ipv6HostAlias, user.HostLoopback, user.Ipv6HostLoopback));

        // -6: the IPv4 mapping is not the netdev's business (no IPv4 options may reach it).
        user = User(["-6", "--map-guest-addr", "169.254.1.2", "--map-guest-addr", "fc00::2"], out _, out _);
        Assert.Equal((false, null, "fc00::2"), (user.Ipv4, user.HostAlias, user.Ipv6HostAlias));
    }

    [Theory]
    [InlineData("pasta: Invalid address: ::1", "-a", "::1")]
    [InlineData("pasta: Invalid address: ::", "-a", "::")]
    [InlineData("pasta: Invalid address: ::ffff:1.2.3.4", "-a", "::ffff:1.2.3.4")]
    [InlineData("pasta: Invalid address: ::1.2.3.4", "-a", "::1.2.3.4")]
    [InlineData("pasta: Invalid address: ff02::1", "-a", "ff02::1")]
    [InlineData("pasta: Invalid address: fe80::1%eth0", "-a", "fe80::1%eth0")]
    [InlineData("pasta: Invalid address: [fd00::15]", "-a", "[fd00::15]")]
    [InlineData("pasta: Invalid address: 255.255.255.255", "--address", "255.255.255.255")]
    [InlineData("pasta: Invalid address: 127.0.0.2", "-a", "127.0.0.2")]
    [InlineData("pasta: Invalid address: 224.0.0.1", "-a", "224.0.0.1")]
    [InlineData("pasta: Invalid address: 0.0.0.0", "-a", "0.0.0.0")]
    [InlineData("pasta: Invalid address: 10.2", "-a", "10.2")]
    [InlineData("pasta: Invalid address: 010.0.2.15", "-a", "010.0.2.15")]
    [InlineData("pasta: Invalid address: fd00::15/64", "-a", "fd00::15/64")]
    [InlineData("pasta: Invalid address: bogus", "-a", "bogus")]
    [InlineData("pasta: Invalid address: ", "-a", "")]
    [InlineData("pasta: Invalid gateway address: ::1", "-g", "::1")]
    [InlineData("pasta: Invalid gateway address: ::", "--gateway", "::")]
    [InlineData("pasta: Invalid gateway address: 255.255.255.255", "-g", "255.255.255.255")]
    [InlineData("pasta: Invalid gateway address: 127.0.0.1", "-g", "127.0.0.1")]
    [InlineData("pasta: Invalid gateway address: bogus", "-g", "bogus")]
    [InlineData("pasta: Invalid netmask: 64", "-n", "64")]
    [InlineData("pasta: Invalid netmask: 33", "-n", "33")]
    [InlineData("pasta: Invalid netmask: -1", "-n", "-1")]
    [InlineData("pasta: Invalid netmask: 255.0.255.0", "--netmask", "255.0.255.0")]
    [InlineData("pasta: Invalid netmask: 255.255.255.255", "-n", "255.255.255.255")]
    [InlineData("pasta: Invalid netmask: 99999999999999999999999", "-n", "99999999999999999999999")]
    [InlineData("pasta: Invalid address to remap to host: ::1", "--map-guest-addr", "::1")]
    [InlineData("pasta: Invalid address to remap to host: ::", "--map-guest-addr", "::")]
    [InlineData("pasta: Invalid address to remap to host: ff02::1", "--map-guest-addr", "ff02::1")]
    [InlineData("pasta: Invalid address to remap to host: 127.0.0.1", "--map-guest-addr", "127.0.0.1")]
    [InlineData("pasta: Invalid address to remap to host: 0.0.0.0", "--map-guest-addr", "0.0.0.0")]
    [InlineData("pasta: Invalid address to remap to host: 224.1.1.1", "--map-guest-addr", "224.1.1.1")]
    [InlineData("pasta: Invalid address to remap to host: 1.2.3", "--map-guest-addr", "1.2.3")]
    [InlineData("pasta: Invalid address to remap to host: None", "--map-guest-addr", "None")]
    [InlineData("pasta: Invalid address to remap to host: ::1", "--map-host-loopback", "::1")]
    [InlineData("pasta: Invalid address to remap to host: bogus", "--map-host-loopback", "bogus")]
    [InlineData("pasta: Invalid DNS forwarding address: ::1", "--dns-forward", "::1")]
    [InlineData("pasta: Invalid DNS forwarding address: 255.255.255.255", "--dns-forward", "255.255.255.255")]
    [InlineData("pasta: Invalid DNS forwarding address: 127.0.0.53", "--dns-forward", "127.0.0.53")]
    public void Invalid_values_are_refused_with_pastas_texts(string message, params string[] args)
    {
        var e = Assert.Throws<PersonalityUsageException>(() => PastaCommandLine.Parse([.. args, "--netns", "/run/netns/n1"], out _));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Malformed_truncated_and_oversized_values_are_refused_as_usage_errors_only()
    {
        string[] values =
        [
            "", ":", "::::", "1.2.3.", ".1.2.3", "1..2.3", "256.1.1.1", "1.2.3.4.5", "fd00::15::1", "fd00:", "fd00::1 ", " fd00::1", "fd00::1\0",
            "\u0661\u0662.1.1.1", "\uFF11.2.3.4", "fe80::1%", "%", "[", "]", "0x0a.0.0.1", "1e1.0.0.1", "-1.0.0.1", "+1.0.0.1",
            new string('1', 10_000), new string(':', 10_000), string.Concat(Enumerable.Repeat("ffff:", 2_000)), "0x", "0x100000000000000000", "08",
        ];
        foreach (var option in (string[])["-a", "-g", "-n", "--dns-forward", "--map-guest-addr", "--map-host-loopback"])
        {
            foreach (var value in values)
            {
                var e = Record.Exception(() => PastaCommandLine.Parse([option, value, "--netns", "/run/netns/n1"], out _));
                Assert.True(e is null or PersonalityUsageException, $"{option} {value[..Math.Min(value.Length, 40)]}: {e}");
            }
        }

        // strtoul's reading of -n: a number then anything (pasta takes "24abc" as 24); octal stops at 8.
        Assert.Equal("10.0.0.0/24", User(["-a", "10.0.0.9", "-n", "24abc"], out _, out _).Net);
        Assert.Equal("10.0.2.0/24", User(["-n", "08"], out _, out _).Net);
    }

    [Theory]
    // As pasta: a spec bound to an address whose family is off cannot bind its first port (pasta
    // 2025-01 prints "(null)" for the reason).
    [InlineData("pasta: Failed to bind port 8080 (Address family not supported by protocol) for option '-t 127.0.0.1/8080', exiting", "-6", "-t", "127.0.0.1/8080")]
    [InlineData("pasta: Failed to bind port 8080 (Address family not supported by protocol) for option '-t 127.0.0.1/8080-8082', exiting", "-t", "127.0.0.1/8080-8082", "--ipv6-only")]
    [InlineData("pasta: Failed to bind port 8081 (Address family not supported by protocol) for option '-t 0.0.0.0/~8080,8080-8081', exiting", "-6", "-t", "0.0.0.0/~8080,8080-8081")]
    [InlineData("pasta: Failed to bind port 5353 (Address family not supported by protocol) for option '-u 10.0.2.1/5353', exiting", "-u", "10.0.2.1/5353", "-4", "-6")]
    [InlineData("pasta: Failed to bind port 8080 (Address family not supported by protocol) for option '-t ::1/8080', exiting", "-4", "-t", "::1/8080")]
    [InlineData("pasta: Failed to bind port 53 (Address family not supported by protocol) for option '-u ::/53:5353', exiting", "--ipv4-only", "-u", "::/53:5353")]
    [InlineData("pasta: Couldn't set IPv6 route(s) in guest: No route to host", "--config-net", "-a", "fd00::15", "-g", "fd01::1")]
    [InlineData("pasta: Couldn't set IPv6 route(s) in guest: Invalid argument", "--config-net", "-g", "ff02::2")]
    [InlineData("pasta: --gateway fd01::1 is neither in the namespace's network fd00::/64 nor link-local: netdevd's user network serves the gateway on the namespace's link", "-g", "fd01::1")]
    [InlineData("pasta: --gateway fd00::15 is the namespace's address", "-g", "fd00::15")]
    [InlineData("pasta: --gateway fe80::1 has the interface identifier of the namespace's address fd00::1: netdevd's gateway answers on fe80:: and in the /64 with one identifier", "-a", "fd00::1", "-g", "fe80::1")]
    [InlineData("pasta: --dns-forward fd00::9 is the namespace's address or the gateway", "-a", "fd00::9", "--dns-forward", "fd00::9")]
    [InlineData("pasta: --map-guest-addr fd00::3 is the namespace's address, the gateway or the DNS address", "--map-guest-addr", "fd00::3")]
    [InlineData("pasta: --map-guest-addr fc00::3 is the namespace's address, the gateway or the DNS address", "-a", "fc00::3", "--map-guest-addr", "fc00::3")]
    [InlineData("pasta: --map-guest-addr fe80::2 is the namespace's address, the gateway or the DNS address", "--map-guest-addr", "fe80::2")]
    [InlineData("pasta: --map-guest-addr fe80::3 is the namespace's address, the gateway or the DNS address", "--map-guest-addr", "fe80::3")]
    [InlineData("pasta: --map-host-loopback fd00::15 is the namespace's address, the gateway or the DNS address", "--map-host-loopback", "fd00::15")]
    [InlineData("pasta: --map-host-loopback 10.0.2.9 must lie outside the namespace's network 10.0.2.0/24 and differ from --dns-forward", "--map-host-loopback", "10.0.2.9")]
    [InlineData("pasta: --map-host-loopback 169.254.1.3 and --map-guest-addr 169.254.1.2: netdevd's user network leads one address per family besides the gateway to the host", "--map-host-loopback", "169.254.1.3", "--map-guest-addr", "169.254.1.2")]
    [InlineData("pasta: --map-host-loopback fc00::9 and --map-guest-addr fc00::2: netdevd's user network leads one address per family besides the gateway to the host", "--map-guest-addr", "fc00::2", "--map-host-loopback", "fc00::9")]
    [InlineData("pasta: --gateway 10.0.2.1 is outside the namespace's network 10.0.2.15/32 (or is its address): netdevd's user network serves the gateway inside it", "-n", "32", "-g", "10.0.2.1")]
    public void Conflicting_values_are_refused(string message, params string[] args)
    {
        var e = Assert.Throws<PersonalityUsageException>(() => User(args, out _, out _));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_host_without_ipv6_refuses_an_ipv6_spec_as_pasta_and_drops_nothing_silently()
    {
        var e = Assert.Throws<PersonalityUsageException>(() => User(["-t", "[::1]/8080"], out _, out _, hostHasIpv6: false));
        Assert.Equal("pasta: Failed to bind port 8080 (Address family not supported by protocol) for option '-t [::1]/8080', exiting", e.Message);

        // Matching families are kept: the IPv6 spec to the namespace's IPv6 address, the IPv4 one to its IPv4 address.
        var user = User(["-a", "fd00::100", "-t", "::1/8080:80", "-u", "127.0.0.1/53", "-t", "9090"], out _, out _);
        Assert.Equal(["tcp:[::1]:8080-[fd00::100]:80", "udp:127.0.0.1:53-:53", "tcp::9090-:9090", "tcp:[::]:9090-[fd00::100]:9090"], user.Hostfwd!.Select(h => h.Str));
        Assert.Equal(["tcp:[::1]:8080-[fd00::100]:80"], User(["-6", "-a", "fd00::100", "-t", "::1/8080:80"], out _, out _).Hostfwd!.Select(h => h.Str));
    }
}
