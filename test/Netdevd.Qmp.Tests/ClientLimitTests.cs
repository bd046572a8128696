using System.Net.Sockets;
using Netdevd.Qmp.Server;
using Netdevd.Tests.Shared;

namespace Netdevd.Qmp.Tests;

/// <summary>The cap on clients served at once: the excess is refused at once, the others keep working, and room comes back as clients leave.</summary>
public sealed class ClientLimitTests
{
    [Fact]
    public async Task Clients_beyond_the_default_cap_read_end_of_stream_while_the_first_ones_work()
    {
        await using var host = await QmpTestHost.StartAsync();
        var served = new List<QmpTestClient>();
        var refused = new List<QmpTestClient>();
        try
        {
            for (var i = 0; i < QmpServerOptions.DefaultMaxClients; i++)
            {
                served.Add(await host.ConnectAsync());
            }

            for (var i = 0; i < 3; i++)
            {
                refused.Add(await ConnectRawAsync(host));
            }

            foreach (var c in refused)
            {
                Assert.True(await ReadsEndOfStreamAsync(c), "a client over the cap reads end of stream, not a greeting");
            }

            await Task.WhenAll(served.Select(async c => QmpAssert.Return(await c.ExecuteAsync("""{"execute":"query-version"}"""))));
            Assert.Equal(QmpServerOptions.DefaultMaxClients, host.Server.SessionCount);
        }
        finally
        {
            await DisposeAllAsync(served);
            await DisposeAllAsync(refused);
        }
    }

    [Fact]
    public async Task Room_comes_back_once_clients_leave()
    {
        await using var host = await QmpTestHost.StartAsync(options: new QmpServerOptions { MaxClients = 3 });
        var first = new List<QmpTestClient>();
        for (var i = 0; i < 3; i++)
        {
            first.Add(await host.ConnectAsync());
        }

        await using (var excess = await ConnectRawAsync(host))
        {
            Assert.True(await ReadsEndOfStreamAsync(excess));
        }

        await first[0].DisposeAsync();
        await Eventually.WaitUntilAsync(() => host.Server.SessionCount == 2, "both sessions taken");
        await using (var next = await host.ConnectAsync())
        {
            QmpAssert.Return(await next.ExecuteAsync("""{"execute":"query-version"}"""));
            await using var excess = await ConnectRawAsync(host);
            Assert.True(await ReadsEndOfStreamAsync(excess));
        }

        await DisposeAllAsync(first.Skip(1));
        await Eventually.WaitUntilAsync(() => host.Server.SessionCount == 0, "every session dropped");
        var again = new List<QmpTestClient>();
        for (var i = 0; i < 3; i++)
        {
            again.Add(await host.ConnectAsync());
        }

        await Task.WhenAll(again.Select(async c => QmpAssert.Return(await c.ExecuteAsync("""{"execute":"query-version"}"""))));
        await DisposeAllAsync(again);
    }

    [Fact]
    public void A_cap_below_one_is_refused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new QmpServer(new Dictionary<string, Qapi.Commands.QapiCommand>(), new Events.QmpEventBroadcaster(), new QmpServerOptions { MaxClients = 0 }));
        Assert.Equal("MaxClients", e.ParamName);
    }

    private static async Task<QmpTestClient> ConnectRawAsync(QmpTestHost host)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(host.Server.BoundEndPoints[0]);
        return new QmpTestClient(socket);
    }

    /// <summary>True when the first thing the client reads is the end of the stream (or a reset), not a greeting.</summary>
    private static async Task<bool> ReadsEndOfStreamAsync(QmpTestClient client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[4096];
        try
        {
            return await client.Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task DisposeAllAsync(IEnumerable<QmpTestClient> clients)
    {
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
    }
}
