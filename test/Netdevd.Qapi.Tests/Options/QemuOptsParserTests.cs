using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;

namespace Netdevd.Qapi.Tests.Options;

public sealed class QemuOptsParserTests
{
    private static string Render(QemuOpts opts)
    {
        var items = new List<string>();
        foreach (var o in opts.Options)
        {
            items.Add($"{o.Key}={o.Value}");
        }

        return $"id={opts.Id ?? "(none)"}; {string.Join("; ", items)}";
    }

    [Theory]
    [InlineData("", "id=(none); ")]
    [InlineData("user,id=u1,net=10.0.0.0/8", "id=u1; type=user; net=10.0.0.0/8")]
    [InlineData("type=user,id=u1", "id=u1; type=user")]
    [InlineData("user,id=u,hostfwd=tcp::1-:2,hostfwd=udp::3-:4", "id=u; type=user; hostfwd=tcp::1-:2; hostfwd=udp::3-:4")]
    [InlineData("socket,id=s,listen=:1234,,x", "id=s; type=socket; listen=:1234,x")]
    [InlineData("user,,x,id=a", "id=a; type=user,x")]
    [InlineData("user,id=a,id=b", "id=a; type=user")]
    [InlineData("id=a,user", "id=a; user=on")]
    [InlineData("help", "id=(none); type=help")]
    [InlineData("user,help", "id=(none); type=user; help=on")]
    [InlineData("user,a=1,", "id=(none); type=user; a=1")]
    [InlineData("user,a=b=c", "id=(none); type=user; a=b=c")]
    [InlineData("id", "id=on; type=id")]
    public void Parses(string input, string expected)
    {
        Assert.Equal(expected, Render(QemuOptsParser.Parse(input, "type")));
    }

    [Theory]
    [InlineData("user,id=1x")]
    [InlineData("user,id=")]
    [InlineData("user,id=a b")]
    [InlineData("user,id=\u00e9")]
    public void Id_must_be_an_identifier(string input)
    {
        var e = Assert.Throws<QapiException>(() => QemuOptsParser.Parse(input, "type"));
        Assert.Equal("Parameter 'id' expects an identifier", e.Message);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("a1.b-c_d")]
    [InlineData("Z")]
    public void Identifiers(string id)
    {
        Assert.Equal(id, QemuOptsParser.Parse("user,id=" + id, "type").Id);
    }

    [Theory]
    [InlineData("user,id=u,ipv4", "ipv4=on", "short-form boolean option 'ipv4' deprecated\nPlease use ipv4=on instead")]
    [InlineData("user,id=u,noipv6", "ipv6=off", "short-form boolean option 'noipv6' deprecated\nPlease use ipv6=off instead")]
    [InlineData("tap,id=t,nodelay", "delay=off", "short-form boolean option 'nodelay' deprecated\nPlease use nodelay=on instead")]
    [InlineData("tap,id=t,delay", "delay=on", "short-form boolean option 'delay' deprecated\nPlease use nodelay=off instead")]
    public void Short_form_booleans_warn(string input, string option, string warning)
    {
        var warnings = new List<string>();
        var opts = QemuOptsParser.Parse(input, "type", warnings.Add);
        Assert.Contains(option, Render(opts), StringComparison.Ordinal);
        Assert.Equal([warning], warnings);
    }

    [Fact]
    public void Help_flag_does_not_warn()
    {
        var warnings = new List<string>();
        QemuOptsParser.Parse("user,help,?", "type", warnings.Add);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Get_returns_the_last_occurrence()
    {
        var opts = QemuOptsParser.Parse("stream,type=user,type=dgram", "type");
        Assert.Equal("dgram", opts.Get("type"));
        Assert.Null(opts.Get("nope"));
    }
}
