using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Visitors;

namespace Netdevd.Qapi.Tests.Visitors;

public sealed class QObjectInputVisitorTests
{
        private static string Strict(string json) => SampleType.Visit(new QObjectInputVisitor(QmpJson.Parse(json)));

    private static string Keyval(string spec) => SampleType.Visit(new QObjectInputVisitor(KeyvalParser.Parse(spec, null), keyval: true));

    [Theory]
    [InlineData("{\"id\": \"a\"}", "id=a")]
    [InlineData("{\"id\": \"a\", \"port\": 22, \"flag\": true}", "id=a port=22 flag=True")]
    [InlineData("{\"id\": \"a\", \"addr\": {\"type\": \"inet\", \"host\": \"h\", \"port\": \"1\"}}", "id=a addr=inet:h:1")]
    [InlineData("{\"id\": \"a\", \"hostfwd\": [{\"str\": \"x\"}, {\"str\": \"y\"}]}", "id=a fwd=x fwd=y")]
    [InlineData("{\"id\": \"a\", \"hostfwd\": []}", "id=a")]
    public void Strict_visits(string json, string expected) => Assert.Equal(expected, Strict(json));

    [Theory]
    [InlineData("{}", "Parameter 'id' is missing")]
    [InlineData("{\"id\": 1}", "Invalid parameter type for 'id', expected: string")]
    [InlineData("{\"id\": \"a\", \"foo\": 1, \"bar\": 2}", "Parameter 'foo' is unexpected")]
    [InlineData("{\"id\": \"a\", \"port\": \"22\"}", "Parameter 'port' expects uint64")]
    [InlineData("{\"id\": \"a\", \"port\": 1.5}", "Parameter 'port' expects uint64")]
    [InlineData("{\"id\": \"a\", \"port\": 70000}", "Parameter 'port' expects uint16_t")]
    [InlineData("{\"id\": \"a\", \"flag\": \"on\"}", "Invalid parameter type for 'flag', expected: boolean")]
    [InlineData("{\"id\": \"a\", \"addr\": \"x\"}", "Invalid parameter type for 'addr', expected: object")]
    [InlineData("{\"id\": \"a\", \"addr\": {\"type\": \"inet\", \"host\": \"h\"}}", "Parameter 'addr.port' is missing")]
    [InlineData("{\"id\": \"a\", \"addr\": {\"type\": \"inet\", \"host\": 5, \"port\": \"1\"}}", "Invalid parameter type for 'addr.host', expected: string")]
    [InlineData("{\"id\": \"a\", \"addr\": {\"type\": \"inet\", \"host\": \"h\", \"port\": \"1\", \"x\": 1}}", "Parameter 'addr.x' is unexpected")]
    [InlineData("{\"id\": \"a\", \"addr\": {\"host\": \"h\", \"port\": \"1\"}}", "Parameter 'addr.type' is missing")]
    [InlineData("{\"id\": \"a\", \"hostfwd\": {}}", "Invalid parameter type for 'hostfwd', expected: array")]
    [InlineData("{\"id\": \"a\", \"hostfwd\": [{\"str\": \"x\"}, {\"str\": 2}]}", "Invalid parameter type for 'hostfwd[1].str', expected: string")]
    [InlineData("{\"id\": \"a\", \"hostfwd\": [{\"str\": \"x\"}, {}]}", "Parameter 'hostfwd[1].str' is missing")]
    [InlineData("{\"id\": \"a\", \"hostfwd\": [{\"str\": \"x\", \"y\": 1}]}", "Parameter 'hostfwd[0].y' is unexpected")]
    [InlineData("{\"id\": \"a\", \"hostfwd\": [\"x\"]}", "Invalid parameter type for 'hostfwd[0]', expected: object")]
    public void Strict_errors(string json, string message)
    {
        var e = Assert.Throws<QapiException>(() => Strict(json));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Bad_enum_value_at_the_top_level()
    {
        var v = new QObjectInputVisitor(QmpJson.Parse("{\"type\": \"foo\"}"));
        v.StartStruct(null);
        var e = Assert.Throws<QapiException>(() => QapiVisit.Enum(v, "type", SampleType.AddressTypes));
        Assert.Equal("Parameter 'type' does not accept value 'foo'", e.Message);
    }

    [Theory]
    [InlineData("id=a", "id=a")]
    [InlineData("id=a,port=0x16,flag=yes", "id=a port=22 flag=True")]
    [InlineData("id=a,flag=n", "id=a flag=False")]
    [InlineData("id=a,addr.type=inet,addr.host=h,addr.port=1", "id=a addr=inet:h:1")]
    [InlineData("id=a,hostfwd.0.str=x,hostfwd.1.str=y", "id=a fwd=x fwd=y")]
    public void Keyval_visits(string spec, string expected) => Assert.Equal(expected, Keyval(spec));

    [Theory]
    [InlineData("port=1", "Parameter 'id' is missing")]
    [InlineData("id=a,port=x", "Parameter 'port' expects integer")]
    [InlineData("id=a,port=-1", "Parameter 'port' expects uint16_t")]
    [InlineData("id=a,port=70000", "Parameter 'port' expects uint16_t")]
    [InlineData("id=a,flag=maybe", "Parameter 'flag' expects 'on' or 'off'")]
    [InlineData("id=a,flag.x=1", "Parameters 'flag.*' are unexpected")]
    [InlineData("id.x=a", "Parameters 'id.*' are unexpected")]
    [InlineData("id=a,addr=x", "Invalid parameter type for 'addr', expected: object")]
    [InlineData("id=a,addr.type=inet,addr.host=h", "Parameter 'addr.port' is missing")]
    [InlineData("id=a,hostfwd.0.str=x,hostfwd.1.sts=y", "Parameter 'hostfwd.1.str' is missing")]
    [InlineData("id=a,hostfwd.0=x", "Invalid parameter type for 'hostfwd.0', expected: object")]
    [InlineData("id=a,hostfwd=x", "Invalid parameter type for 'hostfwd', expected: array")]
    [InlineData("id=a,foo=1", "Parameter 'foo' is unexpected")]
    public void Keyval_errors(string spec, string message)
    {
        var e = Assert.Throws<QapiException>(() => Keyval(spec));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("5", 5L)]
    [InlineData(" 5", 5L)]
    [InlineData("+5", 5L)]
    [InlineData("-5", -5L)]
    [InlineData("0x10", 16L)]
    [InlineData("010", 8L)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void Keyval_int64_uses_strtoll_base_0(string text, long expected)
    {
        Assert.Equal(expected, KeyvalScalar(text).TypeInt64("v"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5 ")]
    [InlineData("5x")]
    [InlineData("9223372036854775808")]
    [InlineData("08")]
    public void Keyval_int64_rejects(string text)
    {
        var e = Assert.Throws<QapiException>(() => KeyvalScalar(text).TypeInt64("v"));
        Assert.Equal("Parameter 'v' expects integer", e.Message);
    }

    [Fact]
    public void Keyval_uint64_wraps_negative_numbers_like_strtoull()
    {
        Assert.Equal(ulong.MaxValue, KeyvalScalar("-1").TypeUInt64("v"));
        Assert.Equal(ulong.MaxValue, KeyvalScalar("18446744073709551615").TypeUInt64("v"));
        Assert.Equal("Parameter 'v' expects integer", Assert.Throws<QapiException>(() => KeyvalScalar("18446744073709551616").TypeUInt64("v")).Message);
    }

    [Theory]
    [InlineData("1k", 1024UL)]
    [InlineData("2M", 2UL << 20)]
    [InlineData("1.5k", 1536UL)]
    [InlineData("64", 64UL)]
    public void Keyval_size(string text, ulong expected) => Assert.Equal(expected, KeyvalScalar(text).TypeSize("v"));

    [Fact]
    public void Keyval_size_and_number_errors()
    {
        Assert.Equal("Parameter 'v' expects size", Assert.Throws<QapiException>(() => KeyvalScalar("1x").TypeSize("v")).Message);
        Assert.Equal("Invalid parameter type for 'v', expected: number", Assert.Throws<QapiException>(() => KeyvalScalar("x").TypeNumber("v")).Message);
        Assert.Equal("Invalid parameter type for 'v', expected: number", Assert.Throws<QapiException>(() => KeyvalScalar("inf").TypeNumber("v")).Message);
        Assert.Equal(1.5e3, KeyvalScalar("1.5e3").TypeNumber("v"));
    }

    [Fact]
    public void Strict_integers()
    {
        Assert.Equal(-1L, StrictScalar("-1").TypeInt64("v"));
        Assert.Equal(ulong.MaxValue, StrictScalar("-1").TypeUInt64("v"));
        Assert.Equal(ulong.MaxValue, StrictScalar("18446744073709551615").TypeUInt64("v"));
        Assert.Equal(ulong.MaxValue, StrictScalar("-1").TypeSize("v"));
        Assert.Equal("Invalid parameter type for 'v', expected: integer", Assert.Throws<QapiException>(() => StrictScalar("18446744073709551615").TypeInt64("v")).Message);
        Assert.Equal("Invalid parameter type for 'v', expected: integer", Assert.Throws<QapiException>(() => StrictScalar("1.0").TypeInt64("v")).Message);
        Assert.Equal("Invalid parameter type for 'v', expected: integer", Assert.Throws<QapiException>(() => StrictScalar("\"1\"").TypeInt64("v")).Message);
        Assert.Equal("Parameter 'v' expects uint64", Assert.Throws<QapiException>(() => StrictScalar("1e30").TypeUInt64("v")).Message);
        Assert.Equal("Parameter 'v' expects uint64", Assert.Throws<QapiException>(() => StrictScalar("true").TypeSize("v")).Message);
    }

    [Fact]
    public void Strict_number_null_and_any()
    {
        Assert.Equal(3.0, StrictScalar("3").TypeNumber("v"));
        Assert.Equal("Invalid parameter type for 'v', expected: number", Assert.Throws<QapiException>(() => StrictScalar("\"3\"").TypeNumber("v")).Message);
        StrictScalar("null").TypeNull("v");
        Assert.Equal("Invalid parameter type for 'v', expected: null", Assert.Throws<QapiException>(() => StrictScalar("0").TypeNull("v")).Message);
        Assert.Equal("[1]", StrictScalar("[1]").TypeAny("v").ToString());
    }

    [Fact]
    public void Scalar_list_elements_are_named_by_index()
    {
        var v = new QObjectInputVisitor(QmpJson.Parse("{\"enable\": [\"a\", 1]}"));
        v.StartStruct(null);
        Assert.True(v.StartList("enable"));
        Assert.True(v.NextListElement());
        Assert.Equal("a", v.TypeStr(null));
        Assert.True(v.NextListElement());
        Assert.Equal("Invalid parameter type for 'enable[1]', expected: string", Assert.Throws<QapiException>(() => v.TypeStr(null)).Message);
    }

    [Fact]
    public void Keyval_list_elements_use_dots()
    {
        var v = new QObjectInputVisitor(KeyvalParser.Parse("l.0=1,l.1=x", null), keyval: true);
        v.StartStruct(null);
        v.StartList("l");
        Assert.True(v.NextListElement());
        Assert.Equal(1L, v.TypeInt64(null));
        Assert.True(v.NextListElement());
        Assert.Equal("Parameter 'l.1' expects integer", Assert.Throws<QapiException>(() => v.TypeInt64(null)).Message);
    }

    [Fact]
    public void Root_that_is_not_a_dict()
    {
        var v = new QObjectInputVisitor(new QList());
        Assert.Equal("Invalid parameter type for '<anonymous>', expected: object", Assert.Throws<QapiException>(() => v.StartStruct(null)).Message);
    }

    [Fact]
    public void Optional_present_does_not_consume()
    {
        var v = new QObjectInputVisitor(QmpJson.Parse("{\"a\": 1}"));
        v.StartStruct(null);
        Assert.True(v.OptionalPresent("a"));
        Assert.False(v.OptionalPresent("b"));
        Assert.Equal("Parameter 'a' is unexpected", Assert.Throws<QapiException>(v.CheckStruct).Message);
    }

    private static QObjectInputVisitor StrictScalar(string json)
    {
        var v = new QObjectInputVisitor(QmpJson.Parse("{\"v\": " + json + "}"));
        v.StartStruct(null);
        return v;
    }

    private static QObjectInputVisitor KeyvalScalar(string text)
    {
        var v = new QObjectInputVisitor(new QDict().Put("v", text), keyval: true);
        v.StartStruct(null);
        return v;
    }
}
