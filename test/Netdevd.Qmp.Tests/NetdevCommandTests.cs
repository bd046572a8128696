using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Tests;

/// <summary>netdev_add, netdev_del, set_link, query-netdevs, query-rx-filter, announce-self through QMP.</summary>
public sealed class NetdevCommandTests
{
    [Fact]
    public async Task Add_query_set_link_and_delete_a_hubport()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"u1","type":"hubport","hubid":3},"id":1}"""), "1");
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"u2","type":"hubport","hubid":3}}"""));

        var list = Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-netdevs"}""")));
        Assert.Equal(2, list.Count);
        var first = Assert.IsType<QDict>(list[0]);
        Assert.Equal("u1", ((QString)first.Get("id")!).Value);
        Assert.Equal("hubport", ((QString)first.Get("type")!).Value);
        Assert.True(((QBool)first.Get("link-up")!).Value);
        Assert.Equal("""{"id": "u1", "type": "hubport", "hubid": 3}""", first.Get("options")!.ToString());

        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"set_link","arguments":{"name":"u1","up":false}}"""));
        list = Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-netdevs"}""")));
        Assert.False(((QBool)((QDict)list[0]).Get("link-up")!).Value);

        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"u1"}}"""));
        list = Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-netdevs"}""")));
        Assert.Equal("u2", ((QString)((QDict)Assert.Single(list)).Get("id")!).Value);
    }

    [Theory]
    [InlineData("""{"id":"u1","type":"hubport","hubid":0}""", "GenericError", "Duplicate ID 'u1'")]
    [InlineData("""{"id":"1x","type":"hubport","hubid":0}""", "GenericError", "Parameter 'id' expects an identifier")]
    [InlineData("""{"id":"n","type":"nic"}""", "GenericError", "network backend 'nic' is not compiled into this binary")]
    [InlineData("""{"id":"n","type":"none"}""", "GenericError", "network backend 'none' is not compiled into this binary")]
    [InlineData("""{"id":"n","type":"tap"}""", "GenericError", "network backend 'tap' is not compiled into this binary")]
    [InlineData("""{"id":"n","type":"bogus"}""", "GenericError", "Parameter 'type' does not accept value 'bogus'")]
    [InlineData("""{"id":"n","type":"vmnet-host"}""", "GenericError", "Parameter 'type' does not accept value 'vmnet-host'")]
    [InlineData("""{"id":"n"}""", "GenericError", "Parameter 'type' is missing")]
    [InlineData("""{"type":"hubport","hubid":0}""", "GenericError", "Parameter 'id' is missing")]
    [InlineData("""{"id":"n","type":"hubport"}""", "GenericError", "Parameter 'hubid' is missing")]
    [InlineData("""{"id":"n","type":"hubport","hubid":0,"unknownarg":1}""", "GenericError", "Parameter 'unknownarg' is unexpected")]
    [InlineData("""{"id":"n","type":"hubport","hubid":"0"}""", "GenericError", "Invalid parameter type for 'hubid', expected: integer")]
    [InlineData("""{"id":"n","type":"hubport","hubid":4294967296}""", "GenericError", "Parameter 'hubid' expects int32_t")]
    public async Task Netdev_add_errors_have_QEMU_texts(string arguments, string errorClass, string desc)
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"u1","type":"hubport","hubid":0}}"""));
        QmpAssert.Error(await client.ExecuteAsync($$"""{"execute":"netdev_add","arguments":{{arguments}},"id":"e"}"""), errorClass, desc, "\"e\"");
        Assert.Single(host.Registry.Snapshot());
    }

    [Fact]
    public async Task Netdev_del_and_set_link_of_unknown_ids_are_DeviceNotFound()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.Error(await client.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"u1"}}"""), "DeviceNotFound", "Device 'u1' not found");
        QmpAssert.Error(await client.ExecuteAsync("""{"execute":"set_link","arguments":{"name":"u1","up":true}}"""), "DeviceNotFound", "Device 'u1' not found");
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"set_link","arguments":{"name":"u1"}}"""), "Parameter 'up' is missing");
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"set_link","arguments":{"name":"u1","up":"yes"}}"""), "Invalid parameter type for 'up', expected: boolean");
    }

    [Fact]
    public async Task Query_rx_filter_knows_no_NICs()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"u1","type":"hubport","hubid":0}}"""));
        Assert.Empty(Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-rx-filter"}"""))));
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"query-rx-filter","arguments":{"name":"u1"}}"""), "net client(u1) isn't a NIC");
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"query-rx-filter","arguments":{"name":"zz"}}"""), "invalid net client name: zz");
    }

    [Fact]
    public async Task Announce_self_validates_its_arguments()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"announce-self","arguments":{"initial":50,"max":550,"rounds":10,"step":50,"interfaces":["vn2"],"id":"bob"}}"""));
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"announce-self","arguments":{"initial":50,"max":550,"rounds":10}}"""), "Parameter 'step' is missing");
    }

    [Fact]
    public async Task A_failing_backend_answers_GenericError_and_the_server_lives_on()
    {
        await using var host = await QmpTestHost.StartAsync(factories: [new ThrowingFactory()]);
        await using var client = await host.ConnectAsync();
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"n","type":"hubport","hubid":0}}"""), "boom");
        QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version"}"""));
    }

    private sealed class ThrowingFactory : INetdevFactory
    {
        public NetClientDriver Driver => NetClientDriver.Hubport;

        public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context) => throw new InvalidOperationException("boom");
    }
}
