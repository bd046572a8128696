using System.Text;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;
using Netdevd.Qmp.Server;

namespace Netdevd.Qmp.Tests;

/// <summary>Framing, greeting, request checks and id echo over a real unix socket.</summary>
public sealed class ProtocolTests
{
    [Fact]
    public async Task Greeting_has_QEMU_shape_and_ends_in_CRLF()
    {
        await using var host = await QmpTestHost.StartAsync();
        var expected = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 9, \"minor\": 1, \"micro\": 0}, \"package\": \""
            + QmpVersion.Package + "\"}, \"capabilities\": []}}";

        await using var raw = new QmpTestClient(new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified));
        await raw.Socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(host.SocketPath), TestContext.Current.CancellationToken);
        Assert.Equal(expected, await raw.ReadLineAsync());
        Assert.StartsWith("netdevd ", QmpVersion.Package, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_version_matches_greeting()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var v = Assert.IsType<QDict>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version"}""")));
        Assert.Equal("""{"qemu": {"major": 9, "minor": 1, "micro": 0}, "package": "PKG"}""".Replace("PKG", QmpVersion.Package, StringComparison.Ordinal), QmpJsonFormatter.Format(v));
    }

    [Theory]
    [InlineData("[1, 2]", "QMP input must be a JSON object")]
    [InlineData("\"execute\"", "QMP input must be a JSON object")]
    [InlineData("""{"execute": 1, "id": 7}""", "QMP input member 'execute' must be a string")]
    [InlineData("""{"execute": "query-version", "arguments": [], "id": 7}""", "QMP input member 'arguments' must be an object")]
    [InlineData("""{"execute": "query-version", "foo": 1, "id": 7}""", "QMP input member 'foo' is unexpected")]
    [InlineData("""{"exec-oob": "query-version", "id": 7}""", "QMP input member 'exec-oob' is unexpected")]
    [InlineData("""{"arguments": {}, "id": 7}""", "QMP input lacks member 'execute'")]
    public async Task Malformed_requests_get_QEMU_texts_and_the_connection_survives(string request, string desc)
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var rsp = await client.ExecuteAsync(request);
        QmpAssert.GenericError(rsp, desc, request.StartsWith('{') ? "7" : null);
        QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version"}"""));
    }

    [Fact]
    public async Task Unknown_command_is_CommandNotFound()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.Error(await client.ExecuteAsync("""{"execute":"nosuch","id":"x"}"""), "CommandNotFound", "The command nosuch has not been found", "\"x\"");
    }

    [Fact]
    public async Task Json_syntax_errors_are_answered_without_id()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var rsp = await client.ExecuteAsync("{\"execute\": \"query-version\", \"id\": 1 ]\n");
        var error = Assert.IsType<QDict>(rsp.Get("error"));
        Assert.StartsWith("JSON parse error", Assert.IsType<QString>(error.Get("desc")).Value, StringComparison.Ordinal);
        Assert.False(rsp.ContainsKey("id"));
        QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version","id":2}"""), "2");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-5")]
    [InlineData("18446744073709551615")]
    [InlineData("1.5")]
    [InlineData("\"abc\"")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("[1, \"a\", {}]")]
    [InlineData("{\"a\": [null, false]}")]
    [InlineData("\"\\u00e9\"")]
    public async Task Id_is_echoed_verbatim(string id)
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.EmptyReturn(
            await client.ExecuteAsync($$"""{"execute": "announce-self", "arguments": {"initial": 1, "max": 2, "rounds": 0, "step": 1}, "id": {{id}}}"""),
            Canonical(id));
        QmpAssert.Error(await client.ExecuteAsync($$"""{"execute": "nosuch", "id": {{id}}}"""), "CommandNotFound", "The command nosuch has not been found", Canonical(id));
    }

    [Fact]
    public async Task Several_requests_in_one_write_are_answered_in_order()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await client.SendAsync("""{"execute":"query-version","id":1}{"execute":"nosuch","id":2}{"execute":"query-netdevs","id":3}""");
        QmpAssert.Return(await client.ReadResponseAsync(), "1");
        QmpAssert.Error(await client.ReadResponseAsync(), "CommandNotFound", "The command nosuch has not been found", "2");
        QmpAssert.Return(await client.ReadResponseAsync(), "3");
    }

    [Fact]
    public async Task A_request_split_across_writes_is_assembled()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var bytes = Encoding.UTF8.GetBytes("""{"execute": "netdev_add", "arguments": {"id": "h0", "type": "hubport", "hubid": 0}, "id": "split"}""");
        foreach (var b in bytes)
        {
            await client.SendAsync([b]);
            await Task.Yield();
        }

        QmpAssert.EmptyReturn(await client.ReadResponseAsync(), "\"split\"");
        Assert.Single(host.Registry.Snapshot());
    }

    [Fact]
    public async Task Query_commands_lists_every_command_and_schema_is_a_list()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var list = Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-commands"}""")));
        var names = list.Select(c => Assert.IsType<QString>(((QDict)c).Get("name")).Value).ToHashSet();
        Assert.Equal(host.Handlers.Commands.Keys.ToHashSet(), names);
        Assert.Contains("netdev_add", names);
        Assert.Contains("qmp_capabilities", names);
        var schema = Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-qmp-schema"}""")));
        Assert.NotEmpty(schema);
    }

    [Fact]
    public async Task Schema_lists_the_netdev_types_of_a_Linux_build_with_af_xdp()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var schema = Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-qmp-schema"}""")));

        // NetClientDriver is the enum with 'hubport' among its values. As in QEMU's schema on
        // Linux with libxdp: af-xdp (CONFIG_AF_XDP), vhost-vdpa and netmap (unconditional in the
        // schema; netmap is refused as not compiled in), no vmnet-* (CONFIG_VMNET, macOS).
        var drivers = schema.Cast<QDict>()
            .Where(e => e.Get("meta-type") is QString { Value: "enum" } && e.Get("values") is QList v && v.Any(x => x is QString { Value: "hubport" }))
            .Select(e => ((QList)e.Get("values")!).Select(x => ((QString)x).Value).ToList())
            .Single();
        Assert.Contains("af-xdp", drivers);
        Assert.Contains("vhost-vdpa", drivers);
        Assert.Contains("netmap", drivers);
        Assert.DoesNotContain(drivers, d => d.StartsWith("vmnet", StringComparison.Ordinal));
    }

    private static string Canonical(string json) => QmpJsonFormatter.Format(QmpJson.Parse(json));
}
