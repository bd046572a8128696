using System.Net;
using Netdevd.Backends.Sockets;
using Netdevd.Qapi.Errors;

namespace Netdevd.Backends.Tests.Dgram;

public sealed class Ipv4HostPortTests
{
    [Theory]
    [InlineData("127.0.0.1", "8080", "127.0.0.1:8080")]
    [InlineData("", "1", "0.0.0.0:1")]
    [InlineData("127.1", "0x1f90", "127.0.0.1:8080")]
    [InlineData("10.0.0.1", "010", "10.0.0.1:8")]
    [InlineData("10.0.0.1", "65537", "10.0.0.1:1")]
    [InlineData("10.0.0.1", "-1", "10.0.0.1:65535")]
    [InlineData("10.0.0.1", "80abc", "10.0.0.1:80")]
    [InlineData("10.0.0.1", " +7", "10.0.0.1:7")]
    [InlineData("10.0.0.1", "0x", "10.0.0.1:0")]
    [InlineData("2130706433", "5", "127.0.0.1:5")]
    [InlineData("localhost", "5", "127.0.0.1:5")]
    public void Convert_accepts_what_QEMU_accepts(string host, string port, string expected)
    {
        Assert.Equal(expected, Ipv4HostPort.Format(Ipv4HostPort.Convert(host, port)));
    }

    [Theory]
    [InlineData("1.2.3.x", "1", "host address '1.2.3.x' is not a valid IPv4 address")]
    [InlineData("256.1.1.1", "1", "host address '256.1.1.1' is not a valid IPv4 address")]
    [InlineData("127.0.0.1", "abc", "port number 'abc' is invalid")]
    [InlineData("127.0.0.1", "", "port number '' is invalid")]
    [InlineData("127.0.0.1", "99999999999999999999", "port number '99999999999999999999' is invalid")]
    [InlineData("no-such-host.invalid", "1", "can't resolve host address 'no-such-host.invalid'")]
    [InlineData("::1", "1", "can't resolve host address '::1'")]
    public void Convert_errors_have_QEMUs_texts(string host, string port, string message)
    {
        var e = Assert.Throws<QapiException>(() => Ipv4HostPort.Convert(host, port));
        Assert.Equal(message, e.Message);
        Assert.Equal(QapiErrorClass.GenericError, e.ErrorClass);
    }

    [Fact]
    public void Parse_splits_at_the_first_colon()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 80), Ipv4HostPort.Parse("127.0.0.1:80:90"));
        Assert.Equal(new IPEndPoint(IPAddress.Any, 1234), Ipv4HostPort.Parse(":1234"));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("")]
    public void Parse_without_colon_is_refused(string text)
    {
        var e = Assert.Throws<QapiException>(() => Ipv4HostPort.Parse(text));
        Assert.Equal($"host address '{text}' doesn't contain ':' separating host from port", e.Message);
    }

    [Theory]
    [InlineData("224.0.0.1", true)]
    [InlineData("239.255.255.255", true)]
    [InlineData("223.255.255.255", false)]
    [InlineData("240.0.0.0", false)]
    public void Multicast_is_224_slash_4(string address, bool expected)
    {
        Assert.Equal(expected, Ipv4HostPort.IsMulticast(IPAddress.Parse(address)));
    }

    [Fact]
    public void Literal_uses_inet_aton()
    {
        Assert.True(Ipv4HostPort.TryParseLiteral("0x7f.1", out var a));
        Assert.Equal(IPAddress.Loopback, a);
        Assert.False(Ipv4HostPort.TryParseLiteral("abc", out _));
    }
}
