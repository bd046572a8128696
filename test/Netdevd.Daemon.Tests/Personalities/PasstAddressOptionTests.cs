using Netdevd.Personalities;
using Netdevd.Personalities.Passt;
using Netdevd.Qapi.Schema;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// passt's address options with IPv6 (-a, -g, --map-guest-addr, --map-host-loopback, --no-map-gw),
/// -6, and -4/-6 against -t/-u specs bound to the other family, as passt takes them.
/// </summary>
public sealed class PasstAddressOptionTests
{
    private static NetdevUserOptions User(params string[] args) => PasstRunner.UserOptions(PasstCommandLine.Parse(args, out _)!);

    [Fact]
    public void An_ipv6_address_and_gateway_set_the_prefix_the_gateway_and_the_ipv6_forwards()
    {
        var user = User("-a", "192.168.9.50", "-n", "24", "-a", "2001:db8:9::50", "-g", "2001:db8:9::1", "-t", "8080", "-t", "::1/2222:22");
        Assert.Equal(("192.168.9.0/24", "192.168.9.2", "192.168.9.50"), (user.Net, user.Host, user.Dhcpstart));
        Assert.Equal(("2001:db8:9::", (long?)64, "2001:db8:9::1", "2001:db8:9::3"), (user.Ipv6Prefix, user.Ipv6Prefixlen, user.Ipv6Host, user.Ipv6Dns));
        // IPv6 clients to the guest's IPv6 address, IPv4 clients to its IPv4 lease.
        Assert.Equal(["tcp::8080-:8080", "tcp:[::]:8080-[2001:db8:9::50]:8080", "tcp:[::1]:2222-[2001:db8:9::50]:22"], user.Hostfwd!.Select(h => h.Str));
        // The address DHCPv6 assigns the guest, as passt's own DHCPv6 assigns -a.
        Assert.Equal("2001:db8:9::50", user.Ipv6DhcpAddress);

        // A link-local gateway: the stack's address in the /64 with its identifier.
        Assert.Equal("2001:db8:9::1", User("-a", "2001:db8:9::50", "-g", "fe80::1").Ipv6Host);
        // Without an IPv6 -a: QEMU's prefix, and ::15 of it assigned and forwarded to.
        user = User("-t", "8080", "-t", "::1/2222:22");
        Assert.Equal(("fec0::", "fec0::2", "fec0::3", "fec0::15"), (user.Ipv6Prefix, user.Ipv6Host, user.Ipv6Dns, user.Ipv6DhcpAddress));
        Assert.Equal(["tcp::8080-:8080", "tcp:[::]:8080-[fec0::15]:8080", "tcp:[::1]:2222-[fec0::15]:22"], user.Hostfwd!.Select(h => h.Str));
        Assert.Null(User("-4").Ipv6DhcpAddress);
    }

    [Fact]
    public void Ipv6_only_turns_ipv4_off_and_the_later_of_4_and_6_wins()
    {
        var user = User("-4", "-6", "-a", "fd00::50", "-t", "80", "-a", "10.9.0.5");
        Assert.Equal((false, null, null, null), (user.Ipv4, user.Ipv6, user.Net, user.HostAlias));
        Assert.Equal(["tcp:[::]:80-[fd00::50]:80"], user.Hostfwd!.Select(h => h.Str));

        user = User("-6", "-4", "-a", "fd00::50");
        Assert.Equal((null, false, null), (user.Ipv4, user.Ipv6, user.Ipv6Prefix));

        // IPv6 alone without -a: forwards go to the default address its DHCPv6 assigns.
        user = User("-6", "-t", "80", "-u", "::1/53");
        Assert.Equal(("fec0::15", false), (user.Ipv6DhcpAddress, user.Ipv4));
        Assert.Equal(["tcp:[::]:80-[fec0::15]:80", "udp:[::1]:53-[fec0::15]:53"], user.Hostfwd!.Select(h => h.Str));
    }

    [Fact]
    public void Map_options_and_no_map_gw_work_per_family()
    {
        var user = User("--no-map-gw", "--map-guest-addr", "169.254.1.2", "--map-guest-addr", "fd01::2");
        Assert.Equal((false, "169.254.1.2", false, "fd01::2"), (user.HostLoopback, user.HostAlias, user.Ipv6HostLoopback, user.Ipv6HostAlias));
        user = User("--map-host-loopback", "fd01::7");
        Assert.Equal((true, null, false, "fd01::7"), (user.HostLoopback, user.HostAlias, user.Ipv6HostLoopback, user.Ipv6HostAlias));
        user = User("--map-host-loopback", "none");
        Assert.Equal((false, false), (user.HostLoopback, user.Ipv6HostLoopback));
    }

    [Theory]
    [InlineData("passt: Failed to bind port 8080 (Address family not supported by protocol) for option '-t ::1/8080', exiting", "-4", "-t", "::1/8080")]
    [InlineData("passt: Failed to bind port 53 (Address family not supported by protocol) for option '-u 127.0.0.1/53', exiting", "-u", "127.0.0.1/53", "--ipv6-only", "-a", "fd00::5")]
    [InlineData("passt: --gateway fd01::1 is neither in the guest's network fd00::/64 nor link-local: netdevd's user network serves the gateway on the guest's link", "-a", "fd00::5", "-g", "fd01::1")]
    [InlineData("passt: --map-guest-addr fec0::3 is the guest's address, the gateway or the DNS address", "--map-guest-addr", "fec0::3")]
    public void Conflicting_values_are_refused(string message, params string[] args)
    {
        var e = Assert.Throws<PersonalityUsageException>(() => User(args));
        Assert.Equal(message, e.Message);
    }
}
