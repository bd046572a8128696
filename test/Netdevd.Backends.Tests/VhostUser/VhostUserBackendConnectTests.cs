using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.VhostUser;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>
/// A vhost-user-backend client whose front-end listens but does not accept, its backlog full: a
/// blocking unix connect waits there for ever, deaf to close and shutdown, and did so under the
/// registry's gate.
/// </summary>
public sealed class VhostUserBackendConnectTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task A_connect_to_a_full_backlog_holds_up_no_other_netdev_command_and_can_be_cancelled()
    {
        var dir = TestDirectories.Create("nd-vub-");
        var path = Path.Combine(dir, "front.sock");
        using var full = new FullBacklogListener(path);
        var listener = full.Listener;
        await using var registry = new NetdevRegistry([new VhostUserBackendNetdevFactory(), new HubportNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);

        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            var pending = registry.AddAsync(Client("b0", path), NetdevOrigin.Monitor, cancellationToken: cancel.Token);
            await Task.Delay(200, Ct);
            Assert.False(pending.IsCompleted);
            var other = registry.AddAsync(new Netdev { Id = "h", Type = NetClientDriver.Hubport, Hubport = new NetdevHubPortOptions { Hubid = 0 } }, NetdevOrigin.Monitor, cancellationToken: Ct);
            Assert.True(await Task.WhenAny(other, Task.Delay(TimeSpan.FromSeconds(10), Ct)) == other, "netdev_add of another id waited for the connect");
            await other;

            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10), Ct));
            Assert.Null(registry.Find("b0"));
        }

        // Room in the backlog again: the id is free and the connect goes through.
        var again = registry.AddAsync(Client("b0", path), NetdevOrigin.Monitor, cancellationToken: Ct);
        using (var first = await listener.AcceptAsync(Ct))
        {
            using var accepted = await listener.AcceptAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
            var client = await again.WaitAsync(TimeSpan.FromSeconds(10), Ct);
            Assert.Same(client, registry.Find("b0")?.Client);
        }
    }

    /// <summary>A client with reconnect-ms connects on its own thread; netdev_del (holding the registry) joins that thread.</summary>
    [Fact(Timeout = 60_000)]
    public async Task Delete_does_not_wait_for_a_reconnecting_client_stuck_on_a_full_backlog()
    {
        var dir = TestDirectories.Create("nd-vub-");
        var path = Path.Combine(dir, "front.sock");
        using var full = new FullBacklogListener(path);
        var listener = full.Listener;
        await using var registry = new NetdevRegistry([new VhostUserBackendNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);
        var netdev = Client("b0", path);
        netdev.VhostUserBackend!.ReconnectMs = 100;
        await registry.AddAsync(netdev, NetdevOrigin.Monitor, cancellationToken: Ct);
        await Task.Delay(300, Ct);

        var delete = registry.DeleteAsync("b0", Ct);
        Assert.True(await Task.WhenAny(delete, Task.Delay(TimeSpan.FromSeconds(10), Ct)) == delete, "netdev_del waited for the connect");
        await delete;
    }

    /// <summary>
    /// reconnect-ms is a uint32: a wait between attempts past 24.8 days threw on the netdev's
    /// thread and ended the process. The client waits now, and netdev_del ends the wait.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task A_reconnect_of_weeks_waits_after_a_failed_connect_and_delete_ends_the_wait()
    {
        var path = Path.Combine(TestDirectories.Create("nd-vub-"), "front.sock"); // nothing listens
        await using var registry = new NetdevRegistry([new VhostUserBackendNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);
        var netdev = Client("b0", path);
        netdev.VhostUserBackend!.ReconnectMs = uint.MaxValue;
        var client = await registry.AddAsync(netdev, NetdevOrigin.Monitor, cancellationToken: Ct);
        await FailedConnectShownAsync(client);

        await Task.Delay(300, Ct); // the netdev's thread is in its wait by now
        var delete = registry.DeleteAsync("b0", Ct);
        Assert.True(await Task.WhenAny(delete, Task.Delay(TimeSpan.FromSeconds(10), Ct)) == delete, "netdev_del waited for the reconnect delay");
        await delete;
    }

    /// <summary>
    /// An empty path: QEMU connects to it and the kernel finds no such file. .NET refused to make
    /// the end point, and that exception came out of netdev_add as an internal error, or, with
    /// reconnect-ms, ended the process from the netdev's thread.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task An_empty_path_fails_to_connect_as_QEMUs_does_with_or_without_reconnect()
    {
        await using var registry = new NetdevRegistry([new VhostUserBackendNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);
        var error = await Assert.ThrowsAsync<Netdevd.Qapi.Errors.QapiException>(() => registry.AddAsync(Client("b0", ""), NetdevOrigin.Monitor, cancellationToken: Ct));
        Assert.Equal("Failed to connect to '': No such file or directory", error.Message);

        var retrying = Client("b1", "");
        retrying.VhostUserBackend!.ReconnectMs = 50;
        var client = await registry.AddAsync(retrying, NetdevOrigin.Monitor, cancellationToken: Ct);
        await FailedConnectShownAsync(client);

        Assert.EndsWith("error: Failed to connect to '': No such file or directory", client.Info, StringComparison.Ordinal);
        await Task.Delay(200, Ct); // a few more attempts
        await registry.DeleteAsync("b1", Ct);
    }

    /// <summary>Waits (10 s at most) until the client's info shows a failed connect: its thread is past its first attempt.</summary>
    private static async Task FailedConnectShownAsync(NetClient client)
    {
        for (var waited = 0; !client.Info.Contains(", error: ", StringComparison.Ordinal); waited += 20)
        {
            Assert.True(waited < 10_000, $"no failed connect shown: {client.Info}");
            await Task.Delay(20, Ct);
        }
    }

    private static Netdev Client(string id, string path) => new()
    {
        Id = id,
        Type = NetClientDriver.VhostUserBackend,
        VhostUserBackend = new NetdevVhostUserBackendOptions
        {
            Server = false,
            Addr = new QapiSocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = path } },
        },
    };

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
