using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class Ipv6AddressTests
{
    [Theory]
    [InlineData("fec0::2", "fec0::2")]
    [InlineData("FEC0:0:0:0:0:0:0:2", "fec0::2")]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("fe80::5256:ff:fe00:2", "fe80::5256:ff:fe00:2")]
    public void Parses_and_formats_as_rfc5952(string text, string expected)
    {
        Assert.True(Ipv6Address.TryParse(text, out var a));
        Assert.Equal(expected, a.ToString());
        Assert.True(Ipv6Address.TryParse(expected, out var back));
        Assert.Equal(a, back);
    }

    [Theory]
    [InlineData("10.0.2.2")]
    [InlineData("fec0::2%eth0")]
    [InlineData("fec0::/64")]
    [InlineData("fec0:::2")]
    [InlineData("")]
    [InlineData(null)]
    public void Rejects_what_is_not_a_bare_ipv6_address(string? text) => Assert.False(Ipv6Address.TryParse(text, out _));

    [Fact]
    public void Reads_and_writes_network_order()
    {
        var bytes = Bytes.Hex("fe80 0000 0000 0000 0211 22ff fe33 4455");
        var a = Ipv6Address.Read(bytes);
        Assert.Equal("fe80::211:22ff:fe33:4455", a.ToString());
        Assert.Equal(0xfe, a[0]);
        Assert.Equal(0x55, a[15]);
        var back = new byte[16];
        a.WriteTo(back);
        Assert.Equal(bytes, back);
    }

    [Theory]
    [InlineData("fec0::15", "fec0::", 64, true)]
    [InlineData("fec0:0:0:1::15", "fec0::", 64, false)]
    [InlineData("fec0:0:0:1::15", "fec0::", 48, true)]
    [InlineData("2001:db8:ff00::1", "2001:db8:fe00::", 23, true)]
    [InlineData("2001:db8:ff00::1", "2001:db8:fe00::", 24, true)]
    [InlineData("2001:db8:ff00::1", "2001:db8:fe00::", 40, false)]
    [InlineData("fec0::1", "fec0::1", 128, true)]
    [InlineData("fec0::1", "fec0::2", 127, false)]
    [InlineData("fec0::2", "fec0::3", 126, true)]
    [InlineData("1::", "2::", 0, true)]
    public void Prefix_match(string address, string prefix, int length, bool expected)
    {
        Assert.True(Ipv6Address.TryParse(address, out var a));
        Assert.True(Ipv6Address.TryParse(prefix, out var p));
        Assert.Equal(expected, a.IsInPrefix(p, length));
    }

    [Fact]
    public void With_prefix_keeps_the_interface_identifier()
    {
        Assert.True(Ipv6Address.TryParse("::2", out var host));
        Assert.True(Ipv6Address.TryParse("2001:db8:1:2::", out var prefix));
        Assert.Equal("2001:db8:1:2::2", host.WithPrefix(prefix, 64).ToString());
        Assert.Equal("fe80::2", host.WithPrefix(new Ipv6Address(0xFE80_0000_0000_0000UL, 0), 64).ToString());
        Assert.Equal("::2", Ipv6Address.Read(Bytes.Hex("2001 0db8 0001 0002 0000 0000 0000 0002")).InterfaceIdentifier(64).ToString());
    }

    [Fact]
    public void Kinds()
    {
        Assert.True(Parse("fe80::1").IsLinkLocal);
        Assert.True(Parse("febf::1").IsLinkLocal);
        Assert.False(Parse("fec0::1").IsLinkLocal);
        Assert.True(Parse("ff02::1").IsMulticast);
        Assert.False(Parse("fe80::1").IsMulticast);
        Assert.True(Parse("::").IsUnspecified);
        Assert.True(Parse("::1").IsLoopback);
        Assert.True(Parse("::ffff:10.0.2.2").IsIpv4Mapped);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 2), Parse("::ffff:10.0.2.2").ToIpv4Mapped());
        Assert.Equal(Parse("::ffff:127.0.0.1"), Ipv6Address.FromIpv4Mapped(Ipv4Address.Loopback));
        Assert.Equal(Parse("ff02::1"), Ipv6Address.AllNodes);
        Assert.Equal(Parse("ff02::2"), Ipv6Address.AllRouters);
        Assert.Equal(Parse("ff02::1:2"), Ipv6Address.AllDhcpServers);
    }

    [Fact]
    public void Solicited_node_group_and_its_mac()
    {
        var group = Parse("fec0::5054:ff:fe12:3456").SolicitedNodeMulticast;
        Assert.Equal("ff02::1:ff12:3456", group.ToString());
        Assert.True(group.IsSolicitedNodeMulticast);
        Assert.False(Parse("ff02::1").IsSolicitedNodeMulticast);
        Assert.Equal("33:33:ff:12:34:56", group.MulticastMac.ToString());
        Assert.Equal("33:33:00:00:00:01", Ipv6Address.AllNodes.MulticastMac.ToString());
    }

    private static Ipv6Address Parse(string text) => Ipv6Address.TryParse(text, out var a) ? a : throw new FormatException(text);
}
