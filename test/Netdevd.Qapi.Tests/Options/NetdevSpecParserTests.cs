using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qapi.Tests.Options;

public sealed class NetdevSpecParserTests
{
    [Theory]
    [InlineData("{", true)]
    [InlineData("{\"type\": \"user\"}", true)]
    [InlineData("stream", true)]
    [InlineData("dgram,id=d", true)]
    [InlineData("type=dgram,id=d", true)]
    [InlineData("user,type=stream", true)]
    [InlineData("stream,type=user", false)]
    [InlineData("user,id=u", false)]
    [InlineData("id=x,stream", false)]
    [InlineData("", false)]
    [InlineData(" {}", false)]
    public void Chooses_modern_syntax_as_qemu_does(string spec, bool modern)
    {
        Assert.Equal(modern, NetdevSpecParser.IsModern(spec));
    }

    [Fact]
    public void Keyval_stream()
    {
        var nd = NetdevSpecParser.Parse("stream,id=s0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=1234");
        Assert.Equal("s0", nd.Id);
        Assert.Equal(NetClientDriver.Stream, nd.Type);
        Assert.True(nd.Stream!.Server);
        Assert.Equal(SocketAddressType.Inet, nd.Stream.Addr.Type);
        Assert.Equal("127.0.0.1", nd.Stream.Addr.Inet!.Host);
        Assert.Equal("1234", nd.Stream.Addr.Inet.Port);
    }

    [Fact]
    public void Keyval_dgram_with_type_key()
    {
        var nd = NetdevSpecParser.Parse("type=dgram,id=d,local.type=unix,local.path=/tmp/a,remote.type=unix,remote.path=/tmp/b");
        Assert.Equal(NetClientDriver.Dgram, nd.Type);
        Assert.Equal("/tmp/a", nd.Dgram!.Local!.Unix!.Path);
        Assert.Equal("/tmp/b", nd.Dgram.Remote!.Unix!.Path);
    }

    [Fact]
    public void Json()
    {
        var nd = NetdevSpecParser.Parse("{\"type\": \"stream\", \"id\": \"s0\", \"server\": false, \"addr\": {\"type\": \"unix\", \"path\": \"/tmp/s\"}}");
        Assert.Equal(NetClientDriver.Stream, nd.Type);
        Assert.False(nd.Stream!.Server);
        Assert.Equal("/tmp/s", nd.Stream.Addr.Unix!.Path);
    }

    [Fact]
    public void Json_may_describe_any_type()
    {
        var nd = NetdevSpecParser.Parse("{'type': 'user', 'id': 'u', 'hostfwd': [{'str': 'tcp::2222-:22'}]}");
        Assert.Equal(NetClientDriver.User, nd.Type);
        Assert.Equal("tcp::2222-:22", Assert.Single(nd.User!.Hostfwd!).Str);
    }

    [Fact]
    public void Modern_syntax_does_not_check_the_id_format()
    {
        Assert.Equal("1x", NetdevSpecParser.Parse("stream,id=1x,addr.type=unix,addr.path=/p").Id);
    }

    [Fact]
    public void Legacy_user_with_repeated_list_options()
    {
        var nd = NetdevSpecParser.Parse("user,id=u,net=10.0.2.0/24,hostfwd=tcp::2222-:22,hostfwd=udp::5353-:53");
        Assert.Equal(NetClientDriver.User, nd.Type);
        Assert.Equal("10.0.2.0/24", nd.User!.Net);
        Assert.Equal(["tcp::2222-:22", "udp::5353-:53"], nd.User.Hostfwd!.Select(s => s.Str));
    }

    [Fact]
    public void Legacy_socket_and_hubport()
    {
        Assert.Equal(":1234", NetdevSpecParser.Parse("socket,id=s,listen=:1234").Socket!.Listen);
        Assert.Equal(3, NetdevSpecParser.Parse("hubport,id=h,hubid=3").Hubport!.Hubid);
    }

    [Fact]
    public void Legacy_short_form_boolean_warns()
    {
        var warnings = new List<string>();
        var nd = NetdevSpecParser.Parse("user,id=u,ipv4", warnings.Add);
        Assert.True(nd.User!.Ipv4);
        Assert.Equal(["short-form boolean option 'ipv4' deprecated\nPlease use ipv4=on instead"], warnings);
    }

    [Theory]
    [InlineData("user,id=u,ipv6-net=fec0::/48", "fec0::", 48L)]
    [InlineData("user,id=u,ipv6-net=fec0::", "fec0::", 64L)]
    public void Legacy_ipv6_net_convenience_option(string spec, string prefix, long length)
    {
        var user = NetdevSpecParser.Parse(spec).User!;
        Assert.Equal(prefix, user.Ipv6Prefix);
        Assert.Equal(length, user.Ipv6Prefixlen);
    }

    [Fact]
    public void Nested_enum_error_names_the_member_alone()
    {
        var e = Assert.Throws<QapiException>(() => NetdevSpecParser.Parse("stream,id=s0,addr.type=nope"));
        Assert.Equal("Parameter 'type' does not accept value 'nope'", e.Message);
    }

    [Theory]
    [InlineData("help")]
    [InlineData("type=help")]
    [InlineData("?")]
    public void Help_is_reported_to_the_caller(string spec)
    {
        Assert.Throws<NetdevHelpRequestedException>(() => NetdevSpecParser.Parse(spec));
    }

    [Theory]
    // Modern, keyval.
    [InlineData("stream,id=s0", "Parameter 'addr' is missing")]
    [InlineData("stream,addr.type=unix,addr.path=/p", "Parameter 'id' is missing")]
    [InlineData("stream,id=s0,addr.type=inet,addr.host=h", "Parameter 'addr.port' is missing")]
    [InlineData("stream,id=s0,server=maybe,addr.type=unix,addr.path=/p", "Parameter 'server' expects 'on' or 'off'")]
    [InlineData("stream,id=s0,reconnect=x,addr.type=unix,addr.path=/p", "Parameter 'reconnect' expects integer")]
    [InlineData("stream,id=s0,addr.type=unix,addr.path=/p,foo=1", "Parameter 'foo' is unexpected")]
    [InlineData("stream,id=s0,addr.type=unix,addr.path=/p,addr.foo=1", "Parameter 'addr.foo' is unexpected")]
    [InlineData("stream,id=s0,addr=x", "Invalid parameter type for 'addr', expected: object")]
    [InlineData("stream,id.x=s0", "Parameters 'id.*' are unexpected")]
    [InlineData("stream,id=x,help", "Help is not available for this option")]
    [InlineData("stream,x", "Expected '=' after parameter 'x'")]
    // Modern, JSON.
    [InlineData("{\"type\": \"stream\", \"id\": \"s0\", \"server\": \"on\", \"addr\": {\"type\": \"unix\", \"path\": \"/p\"}}", "Invalid parameter type for 'server', expected: boolean")]
    [InlineData("{\"type\": \"vmnet-host\", \"id\": \"v\"}", "Parameter 'type' does not accept value 'vmnet-host'")]
    [InlineData("{\"id\": \"v\"}", "Parameter 'type' is missing")]
    [InlineData("{\"type\": \"user\", \"id\": \"u\", \"hostfwd\": [{\"str\": 1}]}", "Invalid parameter type for 'hostfwd[0].str', expected: string")]
    [InlineData("{bad", "JSON parse error, invalid keyword 'bad'")]
    [InlineData("{} {}", "Expecting at most one JSON value")]
    [InlineData("{\"type\": \"user\"", "JSON parse error, premature EOI")]
    // Legacy.
    [InlineData("user", "Parameter 'id' is missing")]
    [InlineData("", "Parameter 'id' is missing")]
    [InlineData("user,id=1x", "Parameter 'id' expects an identifier")]
    [InlineData("foo,id=x", "Parameter 'type' does not accept value 'foo'")]
    [InlineData("vmnet-shared,id=x", "Parameter 'type' does not accept value 'vmnet-shared'")]
    [InlineData("user,id=u,foo=1", "Invalid parameter 'foo'")]
    [InlineData("user,id=u,help", "Invalid parameter 'help'")]
    [InlineData("user,id=u,ipv4=maybe", "Parameter 'ipv4' expects 'on' or 'off'")]
    [InlineData("hubport,id=h,hubid=x", "Parameter 'hubid' expects an int64 value")]
    [InlineData("hubport,id=h,hubid=4294967296", "Parameter 'hubid' expects int32_t")]
    [InlineData("hubport,id=h", "Parameter 'hubid' is missing")]
    [InlineData("user,id=u,ipv6-net=", "Parameter 'ipv6-net' expects a valid IPv6 prefix")]
    [InlineData("user,id=u,ipv6-net=fec0::/x", "parameter 'ipv6-net' expects a number after '/'")]
    public void Errors_carry_qemus_texts(string spec, string message)
    {
        var e = Assert.Throws<QapiException>(() => NetdevSpecParser.Parse(spec));
        Assert.Equal(message, e.Message);
        Assert.Equal(QapiErrorClass.GenericError, e.ErrorClass);
    }
}
