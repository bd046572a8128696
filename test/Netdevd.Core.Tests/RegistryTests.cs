using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Hubs;
using Netdevd.Core.Clients;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

public sealed class RegistryTests
{
    private static NetdevRegistry NewRegistry(params INetdevFactory[] extra) =>
        new([new HubportNetdevFactory(), .. extra], new RecordingEventSink(), NullLoggerFactory.Instance);

    private static Netdev Hubport(string id, int hubid, string? netdev = null) => new()
    {
        Id = id,
        Type = NetClientDriver.Hubport,
        Hubport = new NetdevHubPortOptions { Hubid = hubid, Netdev = netdev },
    };

    [Fact]
    public async Task Duplicate_id_is_refused_with_QEMUs_text()
    {
        await using var r = NewRegistry();
        await r.AddAsync(Hubport("u1", 0), NetdevOrigin.Monitor);

        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("u1", 1), NetdevOrigin.Monitor));

        Assert.Equal("Duplicate ID 'u1'", e.Message);
        Assert.Equal(QapiErrorClass.GenericError, e.ErrorClass);
        Assert.Single(r.Snapshot());
    }

    [Fact]
    public async Task Legacy_command_line_duplicate_says_for_netdev()
    {
        await using var r = NewRegistry();
        await r.AddAsync(Hubport("h", 0), NetdevOrigin.CommandLineLegacy);

        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("h", 0), NetdevOrigin.CommandLineLegacy));

        Assert.Equal("Duplicate ID 'h' for netdev", e.Message);
    }

    [Theory]
    [InlineData("1abc")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("a/b")]
    public async Task Monitor_ids_must_be_identifiers(string id)
    {
        await using var r = NewRegistry();

        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport(id, 0), NetdevOrigin.Monitor));

        Assert.Equal("Parameter 'id' expects an identifier", e.Message);
    }

    [Fact]
    public async Task Modern_command_line_skips_the_identifier_check_as_QEMU_does()
    {
        await using var r = NewRegistry();

        await r.AddAsync(Hubport("9lives", 0), NetdevOrigin.CommandLineModern);

        Assert.Equal("9lives", Assert.Single(r.Snapshot()).Id);
    }

    [Theory]
    [InlineData(NetClientDriver.Nic, "nic")]
    [InlineData(NetClientDriver.None, "none")]
    [InlineData(NetClientDriver.VhostVdpa, "vhost-vdpa")]
    public async Task Types_without_a_backend_are_not_compiled_in(NetClientDriver type, string name)
    {
        await using var r = NewRegistry();

        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(new Netdev { Id = "x", Type = type }, NetdevOrigin.Monitor));

        Assert.Equal($"network backend '{name}' is not compiled into this binary", e.Message);
    }

    [Fact]
    public async Task Delete_unknown_is_DeviceNotFound()
    {
        await using var r = NewRegistry();

        var e = await Assert.ThrowsAsync<QapiException>(() => r.DeleteAsync("u1"));

        Assert.Equal(QapiErrorClass.DeviceNotFound, e.ErrorClass);
        Assert.Equal("Device 'u1' not found", e.Message);
    }

    [Fact]
    public async Task Set_link_unknown_is_DeviceNotFound()
    {
        await using var r = NewRegistry();

        var e = Assert.Throws<QapiException>(() => r.SetLink("nope", false));

        Assert.Equal(QapiErrorClass.DeviceNotFound, e.ErrorClass);
        Assert.Equal("Device 'nope' not found", e.Message);
    }

    [Fact]
    public async Task Hubport_netdev_peers_with_an_existing_netdev()
    {
        await using var r = NewRegistry();
        var inner = await r.AddAsync(Hubport("inner", 5), NetdevOrigin.Monitor);

        var outer = await r.AddAsync(Hubport("outer", 6, "inner"), NetdevOrigin.Monitor);

        Assert.Same(outer, inner.Peer);
        Assert.Same(inner, outer.Peer);
    }

    [Fact]
    public async Task Hubport_netdev_unknown_is_refused_and_leaves_nothing()
    {
        await using var r = NewRegistry();

        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("p", 0, "ghost"), NetdevOrigin.Monitor));

        Assert.Equal("netdev 'ghost' not found", e.Message);
        Assert.Empty(r.Snapshot());
        Assert.Empty(r.Hubs.GetOrCreate(0).Ports);
    }

    [Fact]
    public async Task Hubport_netdev_already_in_use_is_refused_instead_of_aborting()
    {
        await using var r = NewRegistry();
        await r.AddAsync(Hubport("b", 1), NetdevOrigin.Monitor);
        await r.AddAsync(Hubport("p1", 0, "b"), NetdevOrigin.Monitor);

        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("p2", 0, "b"), NetdevOrigin.Monitor));

        Assert.Contains("netdev 'b' is already in use", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, r.Snapshot().Count);
        Assert.Single(r.Hubs.GetOrCreate(0).Ports);
    }

    [Fact]
    public async Task Deleting_a_peered_netdev_detaches_both_cleanly()
    {
        await using var r = NewRegistry();
        var inner = await r.AddAsync(Hubport("inner", 5), NetdevOrigin.Monitor);
        var outer = await r.AddAsync(Hubport("outer", 6, "inner"), NetdevOrigin.Monitor);

        await r.DeleteAsync("inner");

        Assert.Null(outer.Peer);
        Assert.True(inner.IsClosed);
        Assert.Null(r.Find("inner"));
        Assert.Empty(r.Hubs.GetOrCreate(5).Ports);

        // The id is free again.
        await r.AddAsync(Hubport("inner", 5), NetdevOrigin.Monitor);
    }

    [Fact]
    public async Task A_failing_factory_leaves_nothing_behind()
    {
        await using var r = NewRegistry(new FailingFactory());

        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(new Netdev { Id = "t", Type = NetClientDriver.Tap, Tap = new NetdevTapOptions() }, NetdevOrigin.Monitor));

        Assert.Equal("could not open /dev/net/tun: No such file or directory", e.Message);
        Assert.Empty(r.Snapshot());
    }

    [Fact]
    public async Task Nic_follows_its_netdev_on_set_link_and_delete()
    {
        await using var r = NewRegistry();
        var received = new List<byte[]>();
        await r.AddAsync(Hubport("h", 0), NetdevOrigin.Monitor);
        var nic = new NicClient("nic0", f => received.Add(f.ToArray()));
        r.AttachNic("h", nic);

        r.SetLink("h", false);
        Assert.True(nic.LinkDown);
        r.SetLink("h", true);
        Assert.False(nic.LinkDown);

        var again = new NicClient("nic1", _ => { });
        var e = Assert.Throws<QapiException>(() => r.AttachNic("h", again));
        Assert.Equal("Property 'nic1.netdev' can't take value 'h', it's in use", e.Message);

        await r.DeleteAsync("h");
        Assert.True(nic.LinkDown);
        Assert.Null(nic.Peer);
    }

    /// <summary>
    /// netdev_del from one monitor and netdev_add of the same id from another: the new netdev is
    /// made only once the old one has closed, as QEMU's netdev_del is one step. The id was free
    /// (and the netdev gone from every listing) while the old one was still closing, so the new
    /// one met its port or socket file still in use, or had its socket file removed by the old.
    /// </summary>
    [Fact]
    public async Task A_deleted_netdev_is_closed_before_its_id_can_be_added_again()
    {
        var factory = new SlowClosingFactory();
        await using var r = NewRegistry(factory);
        await r.AddAsync(new Netdev { Id = "s", Type = NetClientDriver.Socket, Socket = new NetdevSocketOptions() }, NetdevOrigin.Monitor);

        var delete = r.DeleteAsync("s");
        await factory.Created[0].Closing.Task.WaitAsync(TestContext.Current.CancellationToken);
        var add = r.AddAsync(new Netdev { Id = "s", Type = NetClientDriver.Socket, Socket = new NetdevSocketOptions() }, NetdevOrigin.Monitor);

        factory.Created[0].FinishClose.SetResult();
        await delete;
        await add;
        factory.Created[1].FinishClose.SetResult();
        Assert.Equal([true], factory.EarlierClosedAtCreation);
    }

    /// <summary>
    /// A netdev waiting on its far end holds its id (QEMU's text for a duplicate, the legacy one
    /// between two legacy command-line netdevs) without being listed, found or holding up other
    /// commands; it enters the table whole once ready.
    /// </summary>
    [Fact]
    public async Task A_netdev_waiting_on_its_far_end_reserves_its_id_and_enters_the_table_when_ready()
    {
        var factory = new WaitingFactory();
        await using var r = NewRegistry(factory);
        var pending = r.AddAsync(Waiting("w"), NetdevOrigin.CommandLineLegacy, cancellationToken: Ct);
        var client = await factory.Created.Reader.ReadAsync(Ct);
        Assert.False(pending.IsCompleted);

        Assert.Equal("Duplicate ID 'w' for netdev", (await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("w", 0), NetdevOrigin.CommandLineLegacy))).Message);
        Assert.Equal("Duplicate ID 'w'", (await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("w", 0), NetdevOrigin.Monitor))).Message);
        Assert.Null(r.Find("w"));
        Assert.Empty(r.Snapshot());
        Assert.Equal("Device 'w' not found", (await Assert.ThrowsAsync<QapiException>(() => r.DeleteAsync("w"))).Message);
        Assert.Equal("Device 'w' not found", Assert.Throws<QapiException>(() => r.SetLink("w", false)).Message);
        Assert.Equal("netdev 'w' not found", (await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("h", 0, netdev: "w"), NetdevOrigin.Monitor))).Message);
        await r.AddAsync(Hubport("h", 0), NetdevOrigin.Monitor);
        Assert.False(pending.IsCompleted);

        client.Ready.SetResult();
        Assert.Same(client, await pending);
        Assert.Equal(["h", "w"], r.Snapshot().Select(e => e.Id));
        Assert.False(client.Closed);
        Assert.Equal("Duplicate ID 'w' for netdev", (await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Hubport("w", 0), NetdevOrigin.CommandLineLegacy))).Message);
    }

    [Fact]
    public async Task A_netdev_whose_far_end_fails_is_closed_and_its_id_freed()
    {
        var factory = new WaitingFactory();
        await using var r = NewRegistry(factory);
        var pending = r.AddAsync(Waiting("w"), NetdevOrigin.Monitor, cancellationToken: Ct);
        var client = await factory.Created.Reader.ReadAsync(Ct);

        client.Ready.SetException(new QapiException("the far end said no"));
        Assert.Equal("the far end said no", (await Assert.ThrowsAsync<QapiException>(() => pending)).Message);
        Assert.True(client.Closed);
        Assert.Empty(r.Snapshot());
        await r.AddAsync(Hubport("w", 0), NetdevOrigin.Monitor);
    }

    [Fact]
    public async Task Cancelling_an_add_waiting_on_its_far_end_closes_it_and_frees_its_id()
    {
        var factory = new WaitingFactory();
        await using var r = NewRegistry(factory);
        using var cancel = new CancellationTokenSource();
        var pending = r.AddAsync(Waiting("w"), NetdevOrigin.Monitor, cancellationToken: cancel.Token);
        var client = await factory.Created.Reader.ReadAsync(Ct);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.True(client.Closed);
        Assert.Null(r.Find("w"));
        await r.AddAsync(Hubport("w", 0), NetdevOrigin.Monitor);
    }

    [Fact]
    public async Task Disposing_the_registry_ends_an_add_waiting_on_its_far_end()
    {
        var factory = new WaitingFactory();
        var r = NewRegistry(factory);
        await r.AddAsync(Hubport("h", 0), NetdevOrigin.Monitor);
        var pending = r.AddAsync(Waiting("w"), NetdevOrigin.Monitor, cancellationToken: Ct);
        var client = await factory.Created.Reader.ReadAsync(Ct);

        await r.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.True(client.Closed);
    }

    /// <summary>A far end that answers just as the registry closes: the netdev is closed, not left in a table nobody closes.</summary>
    [Fact]
    public async Task A_netdev_ready_while_the_registry_closes_is_closed()
    {
        var factory = new WaitingFactory { IgnoreCancellation = true };
        var r = NewRegistry(factory);
        var pending = r.AddAsync(Waiting("w"), NetdevOrigin.Monitor, cancellationToken: Ct);
        var client = await factory.Created.Reader.ReadAsync(Ct);

        var dispose = r.DisposeAsync().AsTask();
        await Task.Delay(50, Ct);
        Assert.False(dispose.IsCompleted);
        client.Ready.SetResult();
        await dispose.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending);
        Assert.True(client.Closed);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Netdev Waiting(string id) => new() { Id = id, Type = NetClientDriver.Socket, Socket = new NetdevSocketOptions() };

    /// <summary>Makes clients that are ready only when the test says so (as a vhost-user netdev waits for its back-end).</summary>
    private sealed class WaitingFactory : INetdevFactory
    {
        public System.Threading.Channels.Channel<WaitingClient> Created { get; } = System.Threading.Channels.Channel.CreateUnbounded<WaitingClient>();

        /// <summary>Waits for the test even when cancelled (a far end that answers as the registry closes).</summary>
        public bool IgnoreCancellation { get; init; }

        public NetClientDriver Driver => NetClientDriver.Socket;

        public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
        {
            var client = new WaitingClient(options.Id);
            Assert.True(Created.Writer.TryWrite(client));
            return ValueTask.FromResult<NetClient>(client);
        }

        public async ValueTask WhenReadyAsync(NetClient client, NetdevContext context) =>
            await ((WaitingClient)client).Ready.Task.WaitAsync(IgnoreCancellation ? CancellationToken.None : context.CancellationToken);
    }

    private sealed class WaitingClient(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Closed { get; private set; }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;

        protected override ValueTask CloseAsync()
        {
            Closed = true;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Makes clients whose close waits for the test, and notes whether the clients it made before had closed.</summary>
    private sealed class SlowClosingFactory : INetdevFactory
    {
        public List<SlowClosingClient> Created { get; } = [];

        public List<bool> EarlierClosedAtCreation { get; } = [];

        public NetClientDriver Driver => NetClientDriver.Socket;

        public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
        {
            lock (Created)
            {
                if (Created.Count > 0)
                {
                    EarlierClosedAtCreation.Add(Created.TrueForAll(c => c.Closed));
                }

                var client = new SlowClosingClient(options.Id);
                Created.Add(client);
                return ValueTask.FromResult<NetClient>(client);
            }
        }
    }

    private sealed class SlowClosingClient(string name) : NetClient(name, NetClientDriver.Socket)
    {
        public TaskCompletionSource Closing { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource FinishClose { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Closed { get; private set; }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;

        protected override async ValueTask CloseAsync()
        {
            Closing.SetResult();
            await FinishClose.Task.ConfigureAwait(false);
            Closed = true;
        }
    }

    private sealed class FailingFactory : INetdevFactory
    {
        public NetClientDriver Driver => NetClientDriver.Tap;

        public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context) =>
            throw new QapiException("could not open /dev/net/tun: No such file or directory");
    }
}
