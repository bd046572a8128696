using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;

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

        await Eventually.WaitUntilAsync(() => host.Server.SessionCount == 0, "the server dropped the session");
        Assert.Equal("slow", Assert.Single(host.Registry.Snapshot()).Id);
        await using var other = await host.ConnectAsync();
        QmpAssert.Return(await other.ExecuteAsync("""{"execute":"query-netdevs"}"""));
    }

    /// <summary>
    /// A netdev_add waiting on its far end (a vhost-user back-end that never comes) is abandoned
    /// when its client closes the connection: the netdev is closed and its id free again. It
    /// waited until the server stopped, holding its id and chardev.
    /// </summary>
    [Fact]
    public async Task A_client_closing_its_connection_cancels_its_netdev_add_waiting_on_a_far_end()
    {
        var far = new FarEndFactory();
        await using var host = await QmpTestHost.StartAsync(factories: [far]);
        var client = await host.ConnectAsync();
        await client.SendAsync("""{"execute":"netdev_add","arguments":{"id":"far","type":"hubport","hubid":0}}""");
        var first = await far.Created.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await client.DisposeAsync();

        await first.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await Eventually.WaitUntilAsync(() => host.Server.SessionCount == 0, "the server dropped the session");
        await using var other = await host.ConnectAsync();
        far.ReadyAtOnce = true;
        QmpAssert.EmptyReturn(await other.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"far","type":"hubport","hubid":0}}"""));
        Assert.Equal("far", Assert.Single(host.Registry.Snapshot()).Id);
    }

    /// <summary>A client that only shuts down its sending side (a script piping one command) still gets its answer.</summary>
    [Fact]
    public async Task A_client_that_only_stops_sending_still_gets_its_netdev_add_answered()
    {
        var far = new FarEndFactory();
        await using var host = await QmpTestHost.StartAsync(factories: [far]);
        await using var client = await host.ConnectAsync();
        await client.SendAsync("""{"execute":"netdev_add","arguments":{"id":"far","type":"hubport","hubid":0},"id":7}""");
        var first = await far.Created.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        await Task.Delay(1500, TestContext.Current.CancellationToken);
        Assert.False(first.Cancelled.Task.IsCompleted);

        first.Ready.SetResult();
        QmpAssert.EmptyReturn(await client.ReadResponseAsync(), "7");
        Assert.Equal("far", Assert.Single(host.Registry.Snapshot()).Id);
    }

    [Fact]
    public async Task A_client_disconnecting_mid_request_costs_nothing()
    {
        await using var host = await QmpTestHost.StartAsync();
        var client = await host.ConnectAsync();
        await client.SendAsync("""{"execute":"netdev_add","arguments":{"id":"half",""");
        await client.DisposeAsync();
        await Eventually.WaitUntilAsync(() => host.Server.SessionCount == 0, "the server dropped the session");
        Assert.Empty(host.Registry.Snapshot());
    }

    [Fact]
    public async Task Quit_is_answered_and_signals_the_host()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        Assert.False(host.Handlers.QuitRequested.IsCancellationRequested);
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"quit","id":"q"}"""), "\"q\"");
        await Eventually.WaitUntilAsync(() => host.Handlers.QuitRequested.IsCancellationRequested, "quit requested the daemon's end");
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

    /// <summary>Hub ports that, as a vhost-user netdev, are ready only once their far end is (here: when the test says).</summary>
    private sealed class FarEndFactory : INetdevFactory
    {
        public System.Threading.Channels.Channel<FarEnd> Created { get; } = System.Threading.Channels.Channel.CreateUnbounded<FarEnd>();

        public bool ReadyAtOnce { get; set; }

        public NetClientDriver Driver => NetClientDriver.Hubport;

        public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context) =>
            ValueTask.FromResult<NetClient>(context.Hubs.AddPort(options.Hubport!.Hubid, options.Id));

        public async ValueTask WhenReadyAsync(NetClient client, NetdevContext context)
        {
            if (ReadyAtOnce)
            {
                return;
            }

            // What a far end's wait looks like to a monitor: the command does not complete.
            var far = new FarEnd();
            Assert.True(Created.Writer.TryWrite(far));
            try
            {
                await far.Ready.Task.WaitAsync(context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                far.Cancelled.SetResult();
                throw;
            }
        }
    }

    private sealed class FarEnd
    {
        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
