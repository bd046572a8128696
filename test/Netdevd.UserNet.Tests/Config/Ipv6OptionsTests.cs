using Netdevd.UserNet.Config;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Config;

public sealed class Ipv6OptionsTests
{
    private static Ipv6Address Parse(string text) => Ipv6Address.TryParse(text, out var a) ? a : throw new FormatException(text);

    [Fact]
    public void Qemus_defaults_are_fec0_64_host_2_dns_3()
    {
        var o = Ipv6Options.Apply(new UserNetConfig(), new UserStackOptions());
        Assert.True(o.Ipv6Enabled);
        Assert.Equal(Parse("fec0::"), o.Ipv6Prefix);
        Assert.Equal(64, o.Ipv6PrefixLength);
        Assert.Equal(Parse("fec0::2"), o.Ipv6Host);
        Assert.Equal(Parse("fec0::3"), o.Ipv6Dns);
        Assert.Empty(o.Ipv6DnsSearch);
    }

    [Fact]
    public void A_prefix_alone_moves_host_and_dns_into_it_as_qemu_does()
    {
        var o = Ipv6Options.Apply(new UserNetConfig { Ipv6Prefix = "2001:db8:5::", Ipv6PrefixLength = 48 }, new UserStackOptions());
        Assert.Equal(48, o.Ipv6PrefixLength);
        Assert.Equal(Parse("2001:db8:5::2"), o.Ipv6Host);
        Assert.Equal(Parse("2001:db8:5::3"), o.Ipv6Dns);
    }

    [Fact]
    public void Given_addresses_and_search_names_are_used()
    {
        var o = Ipv6Options.Apply(
            new UserNetConfig { Ipv6Host = "fec0::1", Ipv6Dns = "fec0::53", DnsSearch = ["a.test"], DomainName = "d.test" },
            new UserStackOptions());
        Assert.Equal(Parse("fec0::1"), o.Ipv6Host);
        Assert.Equal(Parse("fec0::53"), o.Ipv6Dns);
        Assert.Equal(["a.test"], o.Ipv6DnsSearch);
        Assert.Equal(["d.test"], Ipv6Options.Apply(new UserNetConfig { DomainName = "d.test" }, new UserStackOptions()).Ipv6DnsSearch);
    }

    [Fact]
    public void Ipv6_off_turns_the_stack_off()
    {
        Assert.False(Ipv6Options.Apply(new UserNetConfig { Ipv6Enabled = false }, new UserStackOptions { Ipv6Enabled = true }).Ipv6Enabled);
    }
}
