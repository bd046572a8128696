using System.Net.Sockets;
using Netdevd.Backends.Chardevs;
using Netdevd.Core.Chardevs;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;

namespace Netdevd.Backends.Tests.Chardevs;

/// <summary>
/// A chardev-add waiting on its far end (a wait=on server for its first client, a client for
/// room in a full backlog) held the registry's gate: every other chardev command waited with
/// it. It now waits with only its id reserved: a duplicate for other adds, unknown to everything
/// else until ready; cancelling or closing the registry ends it, closes its socket and frees the id.
/// </summary>
[Collection(nameof(DescriptorCounting))]
public sealed class ChardevPendingAddTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task A_wait_on_server_waiting_for_its_first_client_holds_up_no_other_chardev_command()
    {
        var dir = TestDirectories.Create("nd-chr-");
        var waitPath = Path.Combine(dir, "w.sock");
        await using var registry = new ChardevRegistry(new SocketChardevFactory());
        var pending = registry.AddFromMonitorAsync("w", Server(waitPath, wait: true), Ct);
        await Task.Delay(100, Ct);
        Assert.False(pending.IsCompleted);
        Assert.True(File.Exists(waitPath), "the server listens while it waits");

        await AssertOthersGoOnAsync(registry, "w", Path.Combine(dir, "c1.sock"));

        // A client arrives: the add completes with the chardev connected to it, as QEMU's.
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(waitPath), Ct);
        var chardev = await pending.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Same(chardev, registry.Find("w"));
        Assert.Equal($"unix:{waitPath},server=on", chardev.Filename);
        Assert.Equal(["w"], registry.Snapshot().Select(c => c.Id));

        // The first ConnectAsync hands over that very client.
        using var accepted = await chardev.ConnectAsync(Ct);
        await client.SendAsync(new byte[] { 42 }, Ct);
        var buffer = new byte[1];
        Assert.Equal(1, await accepted.ReceiveAsync(buffer, Ct));
        Assert.Equal(42, buffer[0]);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_waiting_on_a_full_backlog_holds_up_no_other_chardev_command()
    {
        var dir = TestDirectories.Create("nd-chr-");
        using var full = new FullBacklogListener(Path.Combine(dir, "be.sock"));
        await using var registry = new ChardevRegistry(new SocketChardevFactory());
        var pending = registry.AddFromMonitorAsync("c", Client(full.Path), Ct);
        await Task.Delay(300, Ct);
        Assert.False(pending.IsCompleted);

        await AssertOthersGoOnAsync(registry, "c", Path.Combine(dir, "c1.sock"));

        // Room in the backlog: the connect goes through and the add completes.
        full.Listener.Accept().Dispose();
        var chardev = await pending.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Same(chardev, registry.Find("c"));
        Assert.Equal(["c"], registry.Snapshot().Select(c => c.Id));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Cancelling_a_pending_add_closes_its_socket_and_frees_the_id(bool server)
    {
        var dir = TestDirectories.Create("nd-chr-");
        var waitPath = Path.Combine(dir, "w.sock");
        using var full = new FullBacklogListener(Path.Combine(dir, "be.sock"));
        await using var registry = new ChardevRegistry(new SocketChardevFactory());
        await WarmUpAsync(dir);
        var descriptors = await OwnDescriptors.SettledAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var pending = registry.AddFromMonitorAsync("p", server ? Server(waitPath, wait: true) : Client(full.Path), cancel.Token);
        await Task.Delay(300, Ct);
        Assert.False(pending.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(pending, "the cancelled add"));
        AssertNotListening(waitPath);
        Assert.Empty(await OwnDescriptors.LeftOpenAsync(descriptors));
        Assert.Null(registry.Find("p"));
        Assert.Empty(registry.Snapshot());

        // The id is free again.
        var again = await Within(registry.AddFromMonitorAsync("p", Server(waitPath, wait: false), Ct), "chardev-add of the freed id");
        Assert.Same(again, registry.Find("p"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Disposing_the_registry_ends_its_pending_adds_and_closes_their_sockets()
    {
        var dir = TestDirectories.Create("nd-chr-");
        var waitPath = Path.Combine(dir, "w.sock");
        using var full = new FullBacklogListener(Path.Combine(dir, "be.sock"));
        await WarmUpAsync(dir);
        var descriptors = await OwnDescriptors.SettledAsync();
        var registry = new ChardevRegistry(new SocketChardevFactory());
        var waitingServer = registry.AddFromMonitorAsync("w", Server(waitPath, wait: true), Ct);
        var waitingClient = registry.AddFromCommandLineAsync("c", Client(full.Path), Ct);
        await Task.Delay(300, Ct);
        Assert.False(waitingServer.IsCompleted);
        Assert.False(waitingClient.IsCompleted);

        await Within(registry.DisposeAsync().AsTask(), "disposing the registry");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(waitingServer, "the server's add"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(waitingClient, "the client's add"));
        AssertNotListening(waitPath);
        Assert.Empty(await OwnDescriptors.LeftOpenAsync(descriptors));
    }

    /// <summary>
    /// While the add of <paramref name="pendingId"/> waits: another add and a removal complete at
    /// once, the pending id is a duplicate for adds (in QEMU's two texts) and unknown to
    /// chardev-remove, lookups and listings.
    /// </summary>
    private static async Task AssertOthersGoOnAsync(ChardevRegistry registry, string pendingId, string otherPath)
    {
        await Within(registry.AddFromMonitorAsync("c1", Server(otherPath, wait: false), Ct), "chardev-add of another id");
        var notFound = await Assert.ThrowsAsync<QapiException>(() => Within(registry.RemoveAsync(pendingId, Ct), "chardev-remove of the pending id"));
        Assert.Equal($"Chardev '{pendingId}' not found", notFound.Message);
        var duplicate = await Assert.ThrowsAsync<QapiException>(() => Within(registry.AddFromMonitorAsync(pendingId, Server(otherPath + "2", wait: false), Ct), "chardev-add of the pending id"));
        Assert.Equal($"Chardev with id '{pendingId}' already exists", duplicate.Message);
        var twice = await Assert.ThrowsAsync<QapiException>(() => Within(registry.AddFromCommandLineAsync(pendingId, Server(otherPath + "2", wait: false), Ct), "-chardev of the pending id"));
        Assert.Equal($"Duplicate ID '{pendingId}' for chardev", twice.Message);
        Assert.False(File.Exists(otherPath + "2"), "a duplicate add opened nothing");
        Assert.Null(registry.Find(pendingId));
        Assert.Equal(["c1"], registry.Snapshot().Select(c => c.Id));
        await Within(registry.RemoveAsync("c1", Ct), "chardev-remove of another id");
        Assert.Empty(registry.Snapshot());
    }

    /// <summary>The path is gone and nothing accepts there: the add's listener was closed.</summary>
    private static void AssertNotListening(string path)
    {
        Assert.False(File.Exists(path));
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Assert.Throws<SocketException>(() => probe.Connect(new UnixDomainSocketEndPoint(path)));
    }

    /// <summary>
    /// One add completed by a client, then removed: the runtime makes its socket engine's
    /// descriptors on the first asynchronous accept, and those are not the chardev's.
    /// </summary>
    private static async Task WarmUpAsync(string dir)
    {
        var path = Path.Combine(dir, "warm.sock");
        await using var registry = new ChardevRegistry(new SocketChardevFactory());
        var pending = registry.AddFromMonitorAsync("warm", Server(path, wait: true), Ct);
        await Eventually.WaitUntilAsync(() => File.Exists(path), "the socket file exists");
        using (var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path), Ct);
            await Within(pending, "the warm-up add");
        }

        await registry.RemoveAsync("warm", Ct);
    }

    /// <summary>Fails if <paramref name="task"/> does not complete within 10 s (it waited for the pending add).</summary>
    private static async Task Within(Task task, string what)
    {
        Assert.True(await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10), Ct)) == task, what + " did not complete promptly");
        await task;
    }

    private static async Task<T> Within<T>(Task<T> task, string what)
    {
        await Within((Task)task, what);
        return await task;
    }

    private static ChardevBackend Server(string path, bool wait) => Socket(path, server: true, wait);

    private static ChardevBackend Client(string path) => Socket(path, server: false, wait: null);

    private static ChardevBackend Socket(string path, bool server, bool? wait) => new()
    {
        Type = ChardevBackendKind.Socket,
        Socket = new ChardevSocketWrapper
        {
            Data = new ChardevSocket
            {
                Addr = new SocketAddressLegacy { Type = SocketAddressType.Unix, Unix = new UnixSocketAddressWrapper { Data = new UnixSocketAddress { Path = path } } },
                Server = server,
                Wait = wait,
            },
        },
    };
}
