using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class AddressTests
{
    [Fact]
    public void Mac_round_trips_bytes_and_text()
    {
        var m = MacAddress.Read(Bytes.Hex("525400123456"));
        Assert.Equal("52:54:00:12:34:56", m.ToString());
        Assert.True(MacAddress.TryParse("52:54:00:12:34:56", out var p));
        Assert.Equal(m, p);
        var buf = Bytes.Filled(8);
        m.WriteTo(buf);
        Assert.Equal("525400123456a5a5", Bytes.ToHex(buf));
        Assert.True(m.IsUnicast);
        Assert.True(MacAddress.Broadcast.IsBroadcast && MacAddress.Broadcast.IsMulticast);
        Assert.True(MacAddress.Read(Bytes.Hex("01005e000001")).IsMulticast);
    }

    [Theory]
    [InlineData("")]
    [InlineData("52:54:00:12:34")]
    [InlineData("52:54:00:12:34:56:78")]
    [InlineData("52:54:00:12:34:zz")]
    [InlineData("525:4:00:12:34:56")]
    public void Mac_rejects_bad_text(string text) => Assert.False(MacAddress.TryParse(text, out _));

    [Fact]
    public void Ipv4_round_trips_and_masks()
    {
        var a = Ipv4Address.Create(10, 0, 2, 15);
        Assert.Equal(0x0A00020Fu, a.Value);
        Assert.Equal("10.0.2.15", a.ToString());
        Assert.True(Ipv4Address.TryParse("10.0.2.15", out var p));
        Assert.Equal(a, p);
        var buf = Bytes.Filled(5);
        a.WriteTo(buf);
        Assert.Equal("0a00020fa5", Bytes.ToHex(buf));
        Assert.Equal(a, Ipv4Address.Read(buf));
        Assert.Equal(Ipv4Address.Create(255, 255, 255, 0), Ipv4Address.MaskFromPrefix(24));
        Assert.Equal(Ipv4Address.Any, Ipv4Address.MaskFromPrefix(0));
        Assert.Equal(Ipv4Address.Broadcast, Ipv4Address.MaskFromPrefix(32));
        Assert.True(a.IsInNetwork(Ipv4Address.Create(10, 0, 2, 0), Ipv4Address.MaskFromPrefix(24)));
        Assert.False(a.IsInNetwork(Ipv4Address.Create(10, 0, 3, 0), Ipv4Address.MaskFromPrefix(24)));
    }

    [Theory]
    [InlineData("10.0.2")]
    [InlineData("10.0.2.256")]
    [InlineData("10.0.2.1.")]
    [InlineData("a.b.c.d")]
    [InlineData("")]
    public void Ipv4_strict_parse_rejects(string text) => Assert.False(Ipv4Address.TryParse(text, out _));
}
