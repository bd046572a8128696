using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Tests;

/// <summary>Many clients, TCP, disconnects, quit.</summary>
public sealed class SessionTests
{
    [Fact]
    public async Task Several_clients_are_served_at_once()
    {
        await using var host = await QmpTestHost.StartAsync();
        var clients = new List<QmpTestClient>();
        for (var i = 0; i < 8; i++)
        {
            clients.Add(await host.ConnectAsync());
        }

        await Task.WhenAll(clients.Select(async (c, i) =>
        {
            QmpAssert.EmptyReturn(await c.ExecuteAsync($$"""{"execute":"netdev_add","arguments":{"id":"p{{i}}","type":"hubport","hubid":1},"id":{{i}}}"""), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }));
        Assert.Equal(8, host.Registry.Snapshot().Count);
        Assert.Equal(8, host.Server.SessionCount);
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Tcp_loopback_endpoint_works_and_passes_no_descriptors()
    {
        await using var host = await QmpTestHost.StartAsync(tcp: true);
        await using var client = await host.ConnectAsync();
        QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version"}"""));
        QmpAssert.GenericError(await client.ExecuteAsync("""{"execute":"getfd","arguments":{"fdname":"f"}}"""), "No file descriptor supplied via SCM_RIGHTS");
    }

    [Fact]
    public async Task A_client_disconnecting_mid_command_leaves_the_command_complete_and_the_server_serving()
    {
        var gated = new GatedFactory();
        await using var host = await QmpTestHost.StartAsync(factories: [gated]);
        var client = await host.ConnectAsync();
        await client.SendAsync("""{"execute":"netdev_add","arguments":{"id":"slow","type":"hubport","hubid":0}}""");
        await gated.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await client.DisposeAsync();
        gated.Release.SetResult();

        await WaitUntil(() => host.Server.SessionCount == 0);
        Assert.Equal("slow", Assert.Single(host.Registry.Snapshot()).Id);
        await using var other = await host.ConnectAsync();
        QmpAssert.Return(await other.ExecuteAsync("""{"execute":"query-netdevs"}"""));
    }

    [Fact]
    public async Task A_client_disconnecting_mid_request_costs_nothing()
    {
        await using var host = await QmpTestHost.StartAsync();
        var client = await host.ConnectAsync();
        await client.SendAsync("""{"execute":"netdev_add","arguments":{"id":"half",""");
        await client.DisposeAsync();
        await WaitUntil(() => host.Server.SessionCount == 0);
        Assert.Empty(host.Registry.Snapshot());
    }

    [Fact]
    public async Task Quit_is_answered_and_signals_the_host()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        Assert.False(host.Handlers.QuitRequested.IsCancellationRequested);
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"quit","id":"q"}"""), "\"q\"");
        await WaitUntil(() => host.Handlers.QuitRequested.IsCancellationRequested);
    }

    [Fact]
    public async Task Disposing_the_server_closes_clients()
    {
        var host = await QmpTestHost.StartAsync();
        var client = await host.ConnectAsync();
        await host.DisposeAsync();
        Assert.True(await client.IsClosedByServerAsync());
        await client.DisposeAsync();
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        Assert.True(condition());
    }

    private sealed class GatedFactory : INetdevFactory
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public NetClientDriver Driver => NetClientDriver.Hubport;

        public async ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
        {
            Entered.SetResult();
            await Release.Task;
            return context.Hubs.AddPort(options.Hubport!.Hubid, options.Id);
        }
    }
}
