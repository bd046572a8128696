using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;

namespace Netdevd.Qapi.Tests.Options;

public sealed class KeyvalParserTests
{
    [Theory]
    [InlineData("", null, "{}")]
    [InlineData("a=1,b=2", null, "{\"a\": \"1\", \"b\": \"2\"}")]
    [InlineData("a=1,", null, "{\"a\": \"1\"}")]
    [InlineData("a=", null, "{\"a\": \"\"}")]
    [InlineData("a=x=y", null, "{\"a\": \"x=y\"}")]
    [InlineData("a=1,,2", null, "{\"a\": \"1,2\"}")]
    [InlineData("a=1,,", null, "{\"a\": \"1,\"}")]
    [InlineData("a=1,a=2", null, "{\"a\": \"2\"}")]
    [InlineData("a=1,b=2,a=3", null, "{\"a\": \"3\", \"b\": \"2\"}")]
    [InlineData("stream,id=s", "type", "{\"type\": \"stream\", \"id\": \"s\"}")]
    [InlineData("type=stream,id=s", "type", "{\"type\": \"stream\", \"id\": \"s\"}")]
    [InlineData("helpx", "type", "{\"type\": \"helpx\"}")]
    [InlineData("stream,type=dgram", "type", "{\"type\": \"dgram\"}")]
    [InlineData("addr.type=inet,addr.host=127.0.0.1,addr.port=1234", null, "{\"addr\": {\"type\": \"inet\", \"host\": \"127.0.0.1\", \"port\": \"1234\"}}")]
    [InlineData("x.0=a,x.1=b", null, "{\"x\": [\"a\", \"b\"]}")]
    [InlineData("x.1=b,x.0=a", null, "{\"x\": [\"a\", \"b\"]}")]
    [InlineData("x.0.a=1,x.0.b=2,x.1.a=3", null, "{\"x\": [{\"a\": \"1\", \"b\": \"2\"}, {\"a\": \"3\"}]}")]
    [InlineData("x.0.0=a,x.0.1=b", null, "{\"x\": [[\"a\", \"b\"]]}")]
    [InlineData("__com.redhat_x=1,a-b_c=2", null, "{\"__com.redhat_x\": \"1\", \"a-b_c\": \"2\"}")]
    public void Parses(string input, string? implied, string expected)
    {
        Assert.Equal(expected, KeyvalParser.Parse(input, implied).ToString());
    }

    [Theory]
    [InlineData("x.1=a", null, "Parameter 'x.0' missing")]
    [InlineData("x.0=a,x.2=b", null, "Parameter 'x.1' missing")]
    [InlineData("y.x.1=a", null, "Parameter 'y.x.0' missing")]
    [InlineData("a=1,a.b=2", null, "Parameters 'a.*' used inconsistently")]
    [InlineData("a.b=2,a=1", null, "Parameters 'a.*' used inconsistently")]
    [InlineData("a.b.c=1,a.b=2", null, "Parameters 'a.b.*' used inconsistently")]
    [InlineData("x.0=a,x.b=c", null, "Parameters 'x.*' used inconsistently")]
    [InlineData("a", null, "Expected '=' after parameter 'a'")]
    [InlineData("a.b", null, "Expected '=' after parameter 'a.b'")]
    [InlineData("a=1,b", null, "Expected '=' after parameter 'b'")]
    [InlineData("stream,b", "type", "Expected '=' after parameter 'b'")]
    [InlineData(",a=1", null, "Invalid parameter ''")]
    [InlineData("=1", null, "Invalid parameter ''")]
    [InlineData("stream,,x", "type", "Invalid parameter ''")]
    [InlineData("1a=1", null, "Invalid parameter '1a'")]
    [InlineData("0=1", null, "Invalid parameter '0'")]
    [InlineData("a..b=1", null, "Invalid parameter 'a..b'")]
    [InlineData("a.=1", null, "Invalid parameter 'a.'")]
    [InlineData("a b=1", null, "Invalid parameter 'a b'")]
    [InlineData("a.0x=1", null, "Invalid parameter 'a.0x'")]
    [InlineData("_a=1", null, "Invalid parameter '_a'")]
    [InlineData("help", null, "Help is not available for this option")]
    [InlineData("?", "type", "Help is not available for this option")]
    [InlineData("stream,id=x,help", "type", "Help is not available for this option")]
    public void Reports_errors(string input, string? implied, string message)
    {
        var e = Assert.Throws<QapiException>(() => KeyvalParser.Parse(input, implied));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Fragments_may_be_127_characters_long()
    {
        var ok = new string('a', 127);
        Assert.Equal($"{{\"{ok}\": \"1\"}}", KeyvalParser.Parse(ok + "=1", null).ToString());

        var tooLong = new string('a', 128);
        Assert.Equal($"Parameter '{tooLong}' is too long", Assert.Throws<QapiException>(() => KeyvalParser.Parse(tooLong + "=1", null)).Message);
        Assert.Equal($"Parameter fragment '{tooLong}' is too long", Assert.Throws<QapiException>(() => KeyvalParser.Parse("b." + tooLong + "=1", null)).Message);
        Assert.Equal($"Parameter fragment '{tooLong}' is too long", Assert.Throws<QapiException>(() => KeyvalParser.Parse(tooLong + ".b=1", null)).Message);
    }

    [Fact]
    public void Help_request_can_be_reported_instead_of_failing()
    {
        var d = KeyvalParser.Parse("a=1,help", null, out var help);
        Assert.True(help);
        Assert.Equal("{\"a\": \"1\"}", d.ToString());
        KeyvalParser.Parse("a=help", null, out help);
        Assert.False(help);
    }
}
