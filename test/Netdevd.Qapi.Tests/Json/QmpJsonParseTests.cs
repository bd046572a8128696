using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Tests.Json;

public sealed class QmpJsonParseTests
{
    [Theory]
    [InlineData("{\"type\": \"stream\", \"id\": \"s0\", \"server\": false}", "{\"type\": \"stream\", \"id\": \"s0\", \"server\": false}")]
    [InlineData("[]", "[]")]
    [InlineData("1", "1")]
    [InlineData(" true ", "true")]
    [InlineData("{'a': 'b'}\n", "{\"a\": \"b\"}")]
    public void Parses_exactly_one_value(string text, string expected)
    {
        Assert.Equal(expected, QmpJson.Parse(text).ToString());
    }

    [Theory]
    [InlineData("", "Expecting a JSON value")]
    [InlineData("   ", "Expecting a JSON value")]
    [InlineData("{} {}", "Expecting at most one JSON value")]
    [InlineData("{} x", "Expecting at most one JSON value")]
    [InlineData("{}}", "Expecting at most one JSON value")]
    [InlineData("x {}", "JSON parse error, invalid keyword 'x'")]
    [InlineData("{", "JSON parse error, premature EOI")]
    [InlineData("{\"a\": 1", "JSON parse error, premature EOI")]
    [InlineData("{\"a\": 1,}", "JSON parse error, expecting value")]
    [InlineData("{\"a\": @}", "JSON parse error, stray '@'")]
    public void Reports_qemus_errors(string text, string message)
    {
        var e = Assert.Throws<QapiException>(() => QmpJson.Parse(text));
        Assert.Equal(message, e.Message);
        Assert.Equal(QapiErrorClass.GenericError, e.ErrorClass);
    }

    [Fact]
    public void Input_ends_at_a_nul_like_a_c_string()
    {
        Assert.IsType<QDict>(QmpJson.Parse("{}\0garbage"));
    }

    [Fact]
    public void Keeps_member_order()
    {
        var d = Assert.IsType<QDict>(QmpJson.Parse("{\"z\": 1, \"a\": 2, \"m\": 3}"));
        Assert.Equal(["z", "a", "m"], d.Keys);
    }
}
