using Netdevd.Qapi.Events;
using Netdevd.Qapi.Objects;
using Netdevd.Qmp.Server;

namespace Netdevd.Qmp.Tests;

/// <summary>Events reach negotiated sessions only, stamped; slow clients are dropped, not waited for.</summary>
public sealed class EventTests
{
    [Fact]
    public async Task Events_go_to_negotiated_sessions_only_with_a_timestamp()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var a = await host.ConnectAsync();
        await using var b = await host.ConnectAsync();
        await using var negotiating = await host.ConnectAsync(negotiate: false);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        host.Events.Emit(new QapiEvent("NETDEV_STREAM_DISCONNECTED", new QDict().Put("netdev-id", "s0")));

        foreach (var client in new[] { a, b })
        {
            var e = await client.ReadAsync();
            Assert.Equal("NETDEV_STREAM_DISCONNECTED", ((QString)e.Get("event")!).Value);
            Assert.Equal("""{"netdev-id": "s0"}""", e.Get("data")!.ToString());
            var ts = Assert.IsType<QDict>(e.Get("timestamp"));
            Assert.True(((QNum)ts.Get("seconds")!).Int64Value >= before);
            Assert.InRange(((QNum)ts.Get("microseconds")!).Int64Value, 0, 999_999);
        }

        // The negotiating client got nothing: its next line is the answer to its request.
        QmpAssert.Error(await negotiating.ExecuteAsync("""{"execute":"query-version"}"""), "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
        QmpAssert.EmptyReturn(await negotiating.ExecuteAsync("""{"execute":"qmp_capabilities"}"""));
        host.Events.Emit(new QapiEvent("NETDEV_STREAM_CONNECTED", null));
        var later = await negotiating.ReadAsync();
        Assert.Equal("NETDEV_STREAM_CONNECTED", ((QString)later.Get("event")!).Value);
        Assert.False(later.ContainsKey("data"));
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_dropped_and_the_emitter_never_blocks()
    {
        await using var host = await QmpTestHost.StartAsync(options: new QmpServerOptions { OutboxCapacity = 8 });
        await using var stalled = await host.ConnectAsync();
        var big = new string('x', 64 * 1024);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 200; i++)
        {
            host.Events.Emit(new QapiEvent("NIC_RX_FILTER_CHANGED", new QDict().Put("path", big)));
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), "Emit must not wait for clients");
        Assert.True(await stalled.IsClosedByServerAsync());

        // Everyone else is served as before.
        await using var fresh = await host.ConnectAsync();
        QmpAssert.Return(await fresh.ExecuteAsync("""{"execute":"query-version"}"""));
    }
}
