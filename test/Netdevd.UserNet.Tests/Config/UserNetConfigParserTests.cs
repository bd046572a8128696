using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Config;

public sealed class UserNetConfigParserTests
{
    private static Ipv4Address A(string s) => InetAton.TryParse(s, out var a) ? a : throw new ArgumentException(s);

    [Fact]
    public void Defaults_are_qemus()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions());
        Assert.Equal(A("10.0.2.0"), c.Network);
        Assert.Equal(A("255.255.255.0"), c.Netmask);
        Assert.Equal(A("10.0.2.2"), c.Host);
        Assert.Equal(A("10.0.2.3"), c.Dns);
        Assert.Equal(A("10.0.2.15"), c.DhcpStart);
        Assert.True(c.Ipv4Enabled && c.Ipv6Enabled && !c.Restrict);
        Assert.Equal("net=10.0.2.0,restrict=off", c.InfoString);
        Assert.Equal("/etc/resolv.conf", c.ResolvConfPath);
    }

    [Theory]
    [InlineData("192.168.76.0/24", "192.168.76.0", "255.255.255.0", "192.168.76.2", "192.168.76.3", "192.168.76.15")]
    [InlineData("10.0.2.0", "10.0.0.0", "255.0.0.0", "10.0.2.2", "10.0.2.3", "10.0.2.15")]
    [InlineData("172.16.5.0", "172.16.0.0", "255.240.0.0", "172.16.2.2", "172.16.2.3", "172.16.2.15")]
    [InlineData("10.9.8.7/255.255.0.0", "10.9.0.0", "255.255.0.0", "10.9.2.2", "10.9.2.3", "10.9.2.15")]
    [InlineData("10.0.2.0/28", "10.0.2.0", "255.255.255.240", "10.0.2.2", "10.0.2.3", "10.0.2.15")]
    [InlineData("200.1.1.0", "200.1.1.0", "255.255.255.240", "200.1.1.2", "200.1.1.3", "200.1.1.15")]
    public void Net_derives_host_dns_dhcp(string net, string n, string m, string h, string d, string s)
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions { Net = net });
        Assert.Equal((A(n), A(m), A(h), A(d), A(s)), (c.Network, c.Netmask, c.Host, c.Dns, c.DhcpStart));
    }

    [Fact]
    public void Mtu_and_host_alias_are_netdevds_additions_with_their_checks()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions { Mtu = 9000, HostAlias = "169.254.1.2", Dns = "169.254.1.1" });
        Assert.Equal((9000, A("169.254.1.2"), A("169.254.1.1")), (c.Mtu, c.HostAlias, c.Dns));
        Assert.Null(UserNetConfigParser.Parse(new NetdevUserOptions()).Mtu);
        Assert.Equal("mtu must be 68 to 65520", Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { Mtu = 67 })).Message);
        Assert.Equal("mtu must be 68 to 65520", Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { Mtu = 65521 })).Message);
        Assert.Equal(
            "host-alias must be outside the network and different from DNS",
            Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { HostAlias = "10.0.2.9" })).Message);
        Assert.Equal("Failed to parse host-alias", Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { HostAlias = "x" })).Message);
    }

    [Theory]
    [InlineData("Failed to parse ipv6-host-alias", "x")]
    [InlineData("Failed to parse ipv6-host-alias", "10.0.2.9")]
    [InlineData("Failed to parse ipv6-host-alias", "::1")]
    [InlineData("Failed to parse ipv6-host-alias", "::")]
    [InlineData("Failed to parse ipv6-host-alias", "ff02::1")]
    [InlineData("Failed to parse ipv6-host-alias", "::ffff:10.0.2.2")]
    [InlineData("ipv6-host-alias must differ from the IPv6 host and DNS addresses", "fec0::2")]
    [InlineData("ipv6-host-alias must differ from the IPv6 host and DNS addresses", "fec0::3")]
    [InlineData("ipv6-host-alias must differ from the IPv6 host and DNS addresses", "fe80::2")]
    [InlineData("ipv6-host-alias must differ from the IPv6 host and DNS addresses", "fe80::3")]
    public void Ipv6_host_alias_is_a_unicast_address_apart_from_the_virtual_ones(string message, string alias)
    {
        Assert.Equal(message, Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6HostAlias = alias })).Message);
    }

    [Fact]
    public void Ipv6_host_alias_and_ipv6_host_loopback_reach_the_stack_and_ipv6_host_loopback_follows_host_loopback()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6Prefix = "fc00::", Ipv6Host = "fc00::1", Ipv6HostAlias = "fc00::2", Ipv6HostLoopback = false });
        var stack = Ipv6Options.Apply(c, new UserStackOptions());
        Assert.Equal(("fc00::2", false, true), (stack.Ipv6HostAlias.ToString(), stack.Ipv6HostLoopback, c.HostLoopback));
        Assert.False(Ipv6Options.Apply(UserNetConfigParser.Parse(new NetdevUserOptions { HostLoopback = false }), new UserStackOptions()).Ipv6HostLoopback);
        Assert.True(Ipv6Options.Apply(UserNetConfigParser.Parse(new NetdevUserOptions { HostLoopback = false, Ipv6HostLoopback = true }), new UserStackOptions()).Ipv6HostLoopback);
        Assert.Equal(
            "IPv6 disabled but ipv6-host-alias/ipv6-host-loopback provided",
            Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6 = false, Ipv6HostAlias = "fc00::2" })).Message);
    }

    [Theory]
    [InlineData("Failed to parse ipv6-dhcp-address", "x", null, null)]
    [InlineData("Failed to parse ipv6-dhcp-address", "10.0.2.15", null, null)]
    [InlineData("Failed to parse ipv6-dhcp-address", "::", null, null)]
    [InlineData("Failed to parse ipv6-dhcp-address", "ff02::1:2", null, null)]
    [InlineData("ipv6-dhcp-address doesn't belong to network", "fec0:0:0:1::15", null, null)]
    [InlineData("ipv6-dhcp-address doesn't belong to network", "fd00::1:15", "fd00::", 120)]
    [InlineData("ipv6-dhcp-address doesn't belong to network", "fe80::15", null, null)]
    [InlineData("ipv6-dhcp-address must be different from IPv6 host, DNS and ipv6-host-alias", "fec0::2", null, null)]
    [InlineData("ipv6-dhcp-address must be different from IPv6 host, DNS and ipv6-host-alias", "fec0::3", null, null)]
    [InlineData("ipv6-dhcp-address must be different from IPv6 host, DNS and ipv6-host-alias", "fd00::3", "fd00::", 64)]
    public void Ipv6_dhcp_address_is_a_unicast_address_in_the_prefix_apart_from_the_virtual_ones(string message, string address, string? prefix, int? length)
    {
        var options = new NetdevUserOptions { Ipv6DhcpAddress = address, Ipv6Prefix = prefix, Ipv6Prefixlen = length };
        Assert.Equal(message, Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(options)).Message);
        Assert.Equal(
            "ipv6-dhcp-address must be different from IPv6 host, DNS and ipv6-host-alias",
            Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6DhcpAddress = "fec0::9", Ipv6HostAlias = "fec0::9" })).Message);
        Assert.Equal(
            "IPv6 disabled but ipv6-dhcp-address provided",
            Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6 = false, Ipv6DhcpAddress = "fec0::15" })).Message);
    }

    [Fact]
    public void Ipv6_dhcp_address_reaches_the_stack_and_is_absent_by_default()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6Prefix = "fd00:1::", Ipv6Prefixlen = 48, Ipv6DhcpAddress = "fd00:1:0:7::15" });
        Assert.Equal("fd00:1:0:7::15", Ipv6Options.Apply(c, new UserStackOptions()).Ipv6DhcpAddress.ToString());
        Assert.Null(Ipv6Options.Apply(UserNetConfigParser.Parse(new NetdevUserOptions()), new UserStackOptions()).Ipv6DhcpAddress);
    }

    [Fact]
    public void Legacy_ip_is_net_slash_24()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions { Ip = "10.1.2.0" });
        Assert.Equal(A("255.255.255.0"), c.Netmask);
        Assert.Equal(A("10.1.2.2"), c.Host);
    }

    [Theory]
    [InlineData(null, false, null, "IPv4 and IPv6 disabled")]
    public void Both_disabled(string? unused, bool v4, bool? v6, string message)
    {
        _ = unused;
        var e = Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { Ipv4 = v4, Ipv6 = v6 ?? false }));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Ipv4_on_alone_disables_ipv6_and_ipv6_on_alone_disables_ipv4()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions { Ipv4 = true });
        Assert.True(c.Ipv4Enabled);
        Assert.False(c.Ipv6Enabled);
        c = UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6 = true });
        Assert.False(c.Ipv4Enabled);
        Assert.True(c.Ipv6Enabled);
    }

    public static TheoryData<NetdevUserOptions, string> Errors => new()
    {
        { new NetdevUserOptions { Ipv4 = false, Net = "10.0.2.0/24" }, "IPv4 disabled but netmask/host/dns provided" },
        { new NetdevUserOptions { Ipv6 = false, Ipv6Host = "fec0::2" }, "IPv6 disabled but prefix/host6/dns6 provided" },
        { new NetdevUserOptions { Net = "bogus/24" }, "Failed to parse netmask" },
        { new NetdevUserOptions { Net = "bogus" }, "Failed to parse netmask" },
        { new NetdevUserOptions { Net = "10.0.2.0/24x" }, "Failed to parse netmask (trailing chars)" },
        { new NetdevUserOptions { Net = "10.0.2.0/33" }, "Invalid netmask provided (must be in range 4-32)" },
        { new NetdevUserOptions { Net = "10.0.2.0/3" }, "Invalid netmask provided (must be in range 4-32)" },
        { new NetdevUserOptions { Net = "10.0.2.0/" }, "Invalid netmask provided (must be in range 4-32)" },
        { new NetdevUserOptions { Host = "x" }, "Failed to parse host" },
        { new NetdevUserOptions { Host = "10.0.3.2" }, "Host doesn't belong to network" },
        { new NetdevUserOptions { Dns = "x" }, "Failed to parse DNS" },
        { new NetdevUserOptions { Dns = "8.8.8.8", Restrict = true }, "DNS doesn't belong to network" },
        { new NetdevUserOptions { Dns = "10.0.2.2" }, "DNS must be different from host" },
        { new NetdevUserOptions { Dhcpstart = "x" }, "Failed to parse DHCP start address" },
        { new NetdevUserOptions { Dhcpstart = "10.0.3.15" }, "DHCP doesn't belong to network" },
        { new NetdevUserOptions { Dhcpstart = "10.0.2.3" }, "DHCP must be different from host and DNS" },
        { new NetdevUserOptions { Ipv6Prefix = "zz" }, "Failed to parse IPv6 prefix" },
        { new NetdevUserOptions { Ipv6Prefixlen = 127 }, "Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)" },
        { new NetdevUserOptions { Ipv6Host = "fec1::2" }, "IPv6 Host doesn't belong to network" },
        { new NetdevUserOptions { Domainname = "" }, "'domainname' parameter cannot be empty" },
        { new NetdevUserOptions { Domainname = new string('a', 256) }, "'domainname' parameter cannot exceed 255 bytes" },
        { new NetdevUserOptions { Hostname = new string('a', 256) }, "'vhostname' parameter cannot exceed 255 bytes" },
        { new NetdevUserOptions { TftpServerName = new string('a', 256) }, "'tftp-server-name' parameter cannot exceed 255 bytes" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Errors_have_qemus_texts(NetdevUserOptions options, string message)
    {
        var e = Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(options));
        Assert.Equal(QapiErrorClass.GenericError, e.ErrorClass);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Dns_outside_network_is_fine_unrestricted_and_lists_are_copied()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions
        {
            Dns = "8.8.8.8",
            Dnssearch = [new() { Str = "a.org" }, new() { Str = "b.org" }],
            Hostfwd = [new() { Str = "tcp::2222-:22" }],
        }, "/tmp/resolv.conf");
        Assert.Equal(A("8.8.8.8"), c.Dns);
        Assert.Equal(["a.org", "b.org"], c.DnsSearch);
        Assert.Equal(["tcp::2222-:22"], c.HostForwards);
        Assert.Equal("/tmp/resolv.conf", c.ResolvConfPath);
    }

    [Fact]
    public void Dns_host_entries_are_parsed_in_order_and_a_bad_one_is_refused()
    {
        var c = UserNetConfigParser.Parse(new NetdevUserOptions
        {
            DnsHost = [new() { Str = "host.internal" }, new() { Str = "DB.test:fec0::99" }],
        });
        Assert.Equal([new("host.internal", null), new("db.test", System.Net.IPAddress.Parse("fec0::99"))], c.DnsHosts);
        var e = Assert.Throws<QapiException>(() => UserNetConfigParser.Parse(new NetdevUserOptions { DnsHost = [new() { Str = "x:y" }] }));
        Assert.Equal("Invalid DNS host record 'x:y' (Bad address)", e.Message);
    }

    [Theory]
    [InlineData("10.0.2.2", 0x0A000202u)]
    [InlineData("10.2", 0x0A000002u)]
    [InlineData("10.0.514", 0x0A000202u)]
    [InlineData("167772674", 0x0A000202u)]
    [InlineData("0x0a.0.2.2", 0x0A000202u)]
    [InlineData("012.0.2.2", 0x0A000202u)]
    [InlineData("10.0.2.2 trailing", 0x0A000202u)]
    public void InetAton_accepts_glibc_forms(string text, uint value)
    {
        Assert.True(InetAton.TryParse(text, out var a));
        Assert.Equal(value, a.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.2.256")]
    [InlineData("10..2.2")]
    [InlineData("10.0.2.2.1")]
    [InlineData("10.0.2.2x")]
    [InlineData("09.0.0.1")]
    [InlineData("4294967296")]
    public void InetAton_rejects(string text) => Assert.False(InetAton.TryParse(text, out _));
}
