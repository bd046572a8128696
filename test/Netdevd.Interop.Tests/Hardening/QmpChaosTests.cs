using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Hardening;

/// <summary>
/// A management client gone wrong: thousands of netdev_add, netdev_del, chardev-add and the
/// rest, of every type, with values at and past the schema's edges (huge and negative numbers,
/// empty and odd strings, unknown members, descriptors by number), against the daemon in a
/// network namespace of the test's own (its taps, bridges and sockets stay in there). Every
/// answer must be a result or a QEMU-style error (never .NET's text), no netdev may fault, the
/// daemon must live through it, and once everything is deleted it must hold the descriptors it
/// held before. The fuzzers drive the parsers and the dispatcher in process; this drives the
/// factories with the resources they really open. Its first form (a script) found the reconnect
/// delays that ended the process (LongWait); this one found the empty bridge helper and the empty
/// unix path that surfaced .NET's exceptions, one of them ending the process, and its vhost-user
/// case the add a client left logged as .NET's "A task was canceled.".
/// </summary>
public sealed class QmpChaosTests
{
    private const int Operations = 2500;

    [Theory(Timeout = 600_000)]
    [InlineData(1)]
    [InlineData(2)]
    public Task Thousands_of_hostile_commands_leave_the_daemon_answering_faultless_and_leak_free(int seed) =>
        RunAsync(clients: 1, seed, Operations);

    /// <summary>Four clients at once on the same ids, paths and chardevs: the registry's races, with the real factories behind them.</summary>
    [Fact(Timeout = 600_000)]
    public Task Four_clients_at_once_on_the_same_ids_leave_the_daemon_answering_faultless_and_leak_free() =>
        RunAsync(clients: 4, seed: 100, Operations / 2);

    /// <summary>
    /// vhost-user front-ends and back-ends of the same daemon finding each other on a few paths,
    /// added, hubbed and deleted in any order, with the set-up at any point: the front-end's session
    /// thread, the back-end's control thread, the chardevs' reconnects and the registry's pending
    /// adds, racing. A front-end add whose chardev has no far end waits for one (as in QEMU), a
    /// back-end's connect to a chardev that does not accept waits too; the client leaves such an
    /// add after a while, which ends it.
    /// </summary>
    [Fact(Timeout = 600_000)]
    public async Task Vhost_user_ends_paired_in_one_daemon_leave_it_answering_faultless_and_leak_free()
    {
        var added = await RunAsync(clients: 1, seed: 200, operations: 1000, vhostUserPairs: true);

        // Not vacuous: front-ends and back-ends really were set up with each other (8-14 and
        // 26-49 of them on the machine this was written on; a slower one leaves more adds).
        Assert.True(added.GetValueOrDefault("vhost-user") >= 3, $"vhost-user netdevs added: {added.GetValueOrDefault("vhost-user")}");
        Assert.True(added.GetValueOrDefault("vhost-user-backend") >= 10, $"vhost-user-backend netdevs added: {added.GetValueOrDefault("vhost-user-backend")}");
    }

    /// <summary>
    /// Frames flowing through vhost-user pairs of one daemon (a dgram tunnel into hub 0, each
    /// pair's back-end on hub 0 and front-end on hub 1, a dgram tunnel out of hub 1, and the same
    /// the other way) while the pairs' parts are added, deleted and their links set at random:
    /// rings mapped and unmapped, queues torn down, under the I/O threads that serve them. No root
    /// needed: unix sockets under the test's directory and loopback UDP.
    /// </summary>
    [Fact(Timeout = 600_000)]
    public async Task Vhost_user_pairs_added_and_deleted_under_traffic_leave_the_daemon_forwarding_faultless_and_leak_free()
    {
        var dir = HostTools.TempDir();
        var qmpPath = Path.Combine(dir, "q.sock");
        using var daemon = CapturedProcess.Start(Path.Combine(AppContext.BaseDirectory, "netdevd"), ["--qmp", $"unix:{qmpPath},server=on,wait=off"]);
        using var out0 = LoopbackUdp();
        using var out1 = LoopbackUdp();
        var into0 = HostTools.FreePort(SocketType.Dgram);
        var into1 = HostTools.FreePort(SocketType.Dgram);
        var client = new ChaosClient(qmpPath, daemon, await QmpTestClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(30)));
        using var stop = new CancellationTokenSource();
        var arrived = new long[2];
        var traffic = new[]
        {
            Task.Run(() => SendFramesAsync(into0, seed: 1, stop.Token)),
            Task.Run(() => SendFramesAsync(into1, seed: 2, stop.Token)),
            Task.Run(() => CountFramesAsync(out0, arrived, 0, stop.Token)),
            Task.Run(() => CountFramesAsync(out1, arrived, 1, stop.Token)),
        };
        async Task AddTunnelsAsync()
        {
            foreach (var (i, into, to) in new[] { (0, into0, Port(out0)), (1, into1, Port(out1)) })
            {
                var local = new { type = "inet", host = "127.0.0.1", port = into.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                var remote = new { type = "inet", host = "127.0.0.1", port = to.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                Assert.True((await client.Session.ExecuteAsync("netdev_add", new { type = "dgram", id = $"d{i}", local, remote })).ContainsKey("return"));
                Assert.True((await client.Session.ExecuteAsync("netdev_add", new { type = "hubport", id = $"h{i}", hubid = i, netdev = $"d{i}" })).ContainsKey("return"));
            }
        }

        try
        {
            // One pair made whole in order: frames from the tunnel into hub 0 come out of hub 1's
            // tunnel through it. Then everything goes, and what the daemon holds is the baseline.
            await AddTunnelsAsync();
            foreach (var (name, args) in new (string, object)[]
            {
                ("netdev_add", new { type = "vhost-user-backend", id = "b0", addr = new { type = "unix", path = $"{dir}/u0" } }),
                ("chardev-add", new { id = "c0", backend = new { type = "socket", data = new { addr = new { type = "unix", data = new { path = $"{dir}/u0" } }, server = false } } }),
                ("netdev_add", new { type = "vhost-user", id = "v0", chardev = "c0" }),
                ("netdev_add", new { type = "hubport", id = "hb0", hubid = 0, netdev = "b0" }),
                ("netdev_add", new { type = "hubport", id = "hv0", hubid = 1, netdev = "v0" }),
            })
            {
                var reply = await client.Session.ExecuteAsync(name, args);
                Assert.True(reply.ContainsKey("return"), $"{name}: {reply.ToJsonString()}");
            }

            var before = Interlocked.Read(ref arrived[1]);
            for (var i = 0; i < 200 && Interlocked.Read(ref arrived[1]) == before; i++)
            {
                await Task.Delay(50);
            }

            Assert.True(Interlocked.Read(ref arrived[1]) > before, $"no frame came through the vhost-user pair\n{daemon.Output}");
            await DeleteEverythingAsync(client.Session);
            var descriptors = await SettledAsync(() => Descriptors(daemon.Pid));

            await AddTunnelsAsync();
            var atStart = Interlocked.Read(ref arrived[0]) + Interlocked.Read(ref arrived[1]);
            var pauses = new Random(3);
            await client.RunAsync(new ChaosCommands(new Random(300), dir).TakeVhostUserTraffic(500), () => Task.Delay(pauses.Next(3) switch { 0 => 0, 1 => 10, _ => 50 }));

            // Pairs were whole part of the time: frames crossed them during the chaos.
            Assert.True(Interlocked.Read(ref arrived[0]) + Interlocked.Read(ref arrived[1]) > atStart, "no frame crossed a pair during the chaos");
            await stop.CancelAsync();
            await Task.WhenAll(traffic);
            await AssertAllGoesAndNothingStaysAsync(client.Session, daemon, descriptors, client.Log);
        }
        finally
        {
            await stop.CancelAsync();
            await client.Session.DisposeAsync();
            Directory.Delete(dir, true);
        }
    }

    private static Socket LoopbackUdp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static int Port(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

    /// <summary>Broadcast Ethernet frames of 60 bytes to 65,000 into a dgram netdev's port until stopped, a pause every 64.</summary>
    private static async Task SendFramesAsync(int port, int seed, CancellationToken stop)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var to = new IPEndPoint(IPAddress.Loopback, port);
        var random = new Random(seed);
        var frame = new byte[65000];
        random.NextBytes(frame);
        frame.AsSpan(0, 6).Fill(0xff);
        int[] sizes = [60, 64, 200, 1000, 1514, 9000, 65000];
        for (var sent = 0; !stop.IsCancellationRequested; sent++)
        {
            try
            {
                await socket.SendToAsync(frame.AsMemory(0, sizes[random.Next(sizes.Length)]), to, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                // Nothing bound there for a moment (ICMP unreachable comes back as an error): go on.
            }

            if (sent % 64 == 63)
            {
                await Task.Delay(1, CancellationToken.None);
            }
        }
    }

    private static async Task CountFramesAsync(Socket socket, long[] arrived, int index, CancellationToken stop)
    {
        var buffer = new byte[70000];
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await socket.ReceiveAsync(buffer, stop);
                Interlocked.Increment(ref arrived[index]);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Runs the commands; returns how many netdev_adds of each type succeeded.</summary>
    private static async Task<Dictionary<string, int>> RunAsync(int clients, int seed, int operations, bool vhostUserPairs = false)
    {
        Assert.SkipUnless(HostTools.IsRoot, "needs root: runs the daemon in a network namespace of its own, where its taps and bridges go");
        HostTools.Require("ip", "iproute2");
        await using var ns = await TestNamespace.CreateAsync();
        var dir = HostTools.TempDir();
        ChaosCommands.WriteScripts(dir);
        var qmpPath = Path.Combine(dir, "q.sock");
        using var daemon = CapturedProcess.Start("ip", ["netns", "exec", ns.Name, Path.Combine(AppContext.BaseDirectory, "netdevd"), "--qmp", $"unix:{qmpPath},server=on,wait=off"]);
        var chaos = new List<ChaosClient>();
        IEnumerable<(string, JsonObject?)> Commands(int stream, int count)
        {
            var commands = new ChaosCommands(new Random(stream), dir);
            return vhostUserPairs ? commands.TakeVhostUserPairs(count) : commands.Take(count);
        }

        try
        {
            for (var i = 0; i < clients; i++)
            {
                chaos.Add(new ChaosClient(qmpPath, daemon, await QmpTestClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(30))));
            }

            // A warm-up round: the runtime's lazily made descriptors (the first socket of each
            // family, the thread pool's) are not the netdevs'.
            await chaos[0].RunAsync(Commands(seed, 200));
            await DeleteEverythingAsync(chaos[0].Session);
            var descriptors = await SettledAsync(() => Descriptors(daemon.Pid));

            await Task.WhenAll(chaos.Select((client, k) => Task.Run(() => client.RunAsync(Commands(seed + 1 + k, operations)))));

            await AssertAllGoesAndNothingStaysAsync(chaos[0].Session, daemon, descriptors, chaos.SelectMany(c => c.Log.TakeLast(20)));
            return chaos.SelectMany(c => c.Added).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        }
        finally
        {
            foreach (var client in chaos)
            {
                await client.Session.DisposeAsync();
            }

            Directory.Delete(dir, true);
        }
    }

    /// <summary>One QMP client of the chaos: sends its commands, checks each answer, and leaves an add that waits for a far end.</summary>
    private sealed class ChaosClient(string qmpPath, CapturedProcess daemon, QmpTestClient session)
    {
        /// <summary>How long an add that waits for a far end may wait before the client leaves it (closing its session ends the add).</summary>
        private static readonly TimeSpan s_leaveAfter = TimeSpan.FromMilliseconds(500);

        public QmpTestClient Session { get; private set; } = session;

        /// <summary>The type of every netdev_add that succeeded.</summary>
        public List<string> Added { get; } = [];

        /// <summary>Every command with its answer, for a failure's message.</summary>
        public List<string> Log { get; } = [];

        public async Task RunAsync(IEnumerable<(string Name, JsonObject? Arguments)> commands, Func<Task>? pause = null)
        {
            foreach (var (name, args) in commands)
            {
                if (pause is not null)
                {
                    await pause();
                }

                var answer = Session.ExecuteAsync(name, args);
                // A front-end's add waits for its back-end; a back-end's connect (no reconnect-ms)
                // waits while the front-end's listening chardev does not accept (busy with another);
                // a server chardev with wait on waits for its first client.
                var mayWait = name == "chardev-add"
                    || (name == "netdev_add" && ((string?)args?["type"])?.StartsWith("vhost-user", StringComparison.Ordinal) == true);
                if (mayWait && await Task.WhenAny(answer, Task.Delay(s_leaveAfter)) != answer)
                {
                    Log.Add($"{name} {args?.ToJsonString()} -> LEFT");
                    _ = answer.ContinueWith(static t => t.Exception, TaskScheduler.Default);
                    await Session.DisposeAsync();
                    Session = await QmpTestClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(30));
                    continue;
                }

                JsonObject reply;
                try
                {
                    reply = await answer;
                }
                catch (OperationCanceledException)
                {
                    // QmpTestClient waits 30 s for an answer.
                    // What this client did with the same id before: the netdev whose add or close hangs.
                    var id = $"\"{(string?)args?["id"] ?? (string?)args?["name"] ?? (string?)args?["netdev"]}\"";
                    Assert.Fail($"no answer to {name} {args?.ToJsonString()} in 30 s; the client's commands on {id}:\n{string.Join('\n', Log.Where(l => l.Contains(id, StringComparison.Ordinal)).TakeLast(20))}\nits last commands:\n{string.Join('\n', Log.TakeLast(5))}\n{daemon.Output}");
                    throw;
                }

                Log.Add($"{name} {args?.ToJsonString()} -> {reply.ToJsonString()}");
                AssertAnswer(name, args, reply, daemon);
                if (name == "netdev_add" && reply.ContainsKey("return"))
                {
                    Added.Add((string)args!["type"]!);
                }
            }
        }
    }

    /// <summary>
    /// The end of every case: everything deleted, no netdev and no chardev left, the daemon back to
    /// <paramref name="descriptors"/>, alive, and no fault, internal error or .NET text in its log
    /// ("A task was canceled." once reported an add its client left).
    /// </summary>
    private static async Task AssertAllGoesAndNothingStaysAsync(QmpTestClient qmp, CapturedProcess daemon, string[] descriptors, IEnumerable<string> lastCommands)
    {
        await DeleteEverythingAsync(qmp);
        Assert.Empty((JsonArray)(await qmp.ExecuteAsync("query-netdevs"))["return"]!);
        var chardevsLeft = (JsonArray)(await qmp.ExecuteAsync("query-chardev"))["return"]!;
        Assert.True(chardevsLeft.Count == 0, $"chardevs left: {chardevsLeft.ToJsonString()}; the last commands:\n{string.Join('\n', lastCommands.TakeLast(80))}");
        Assert.Equal(descriptors, await SettledAsync(() => Descriptors(daemon.Pid), descriptors));
        Assert.False(daemon.HasExited, daemon.Output);
        foreach (var sign in new[] { "Unhandled exception", "dropped a frame after", "failed unexpectedly", "   at ", "A task was canceled" })
        {
            Assert.DoesNotContain(sign, daemon.Output, StringComparison.Ordinal);
        }
    }

    private static void AssertAnswer(string name, JsonObject? args, JsonObject reply, CapturedProcess daemon)
    {
        var what = $"{name} {args?.ToJsonString()} -> {reply.ToJsonString()}";
        Assert.False(daemon.HasExited, $"the daemon ended after {what}\n{daemon.Output}");
        if (reply.ContainsKey("return"))
        {
            return;
        }

        var error = Assert.IsType<JsonObject>(reply["error"], exactMatch: false);
        Assert.False(string.IsNullOrEmpty((string?)error["class"]), what);
        var desc = (string?)error["desc"];
        Assert.False(string.IsNullOrEmpty(desc), what);
        foreach (var dotnet in new[] { "Exception", "System.", "   at " })
        {
            Assert.DoesNotContain(dotnet, desc, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Deletes every netdev and chardev, until two listings 200 ms apart find none (within 10 s):
    /// an add the chaos left waiting ends once the daemon sees its session closed (it looks every
    /// 200 ms), holding its chardev until then, and one that was completing may still enter its
    /// netdev a moment later.
    /// </summary>
    private static async Task DeleteEverythingAsync(QmpTestClient qmp)
    {
        var emptyListings = 0;
        for (var round = 0; round < 50 && emptyListings < 2; round++)
        {
            var netdevs = (JsonArray)(await qmp.ExecuteAsync("query-netdevs"))["return"]!;
            var chardevs = (JsonArray)(await qmp.ExecuteAsync("query-chardev"))["return"]!;
            emptyListings = netdevs.Count == 0 && chardevs.Count == 0 ? emptyListings + 1 : 0;
            foreach (var netdev in netdevs)
            {
                await qmp.ExecuteAsync("netdev_del", new { id = (string)netdev!["id"]! });
            }

            foreach (var chardev in chardevs)
            {
                await qmp.ExecuteAsync("chardev-remove", new { id = (string)chardev!["label"]! });
            }

            await Task.Delay(200);
        }
    }

    /// <summary>
    /// The process's descriptors but the runtime's own files (it opens an assembly, a native
    /// library or a symbol file the first time code reaches one, and the chaos reaches more than
    /// the warm-up): what a netdev or chardev could leave open.
    /// </summary>
    private static string[] Descriptors(int pid) =>
        [.. Directory.GetFiles($"/proc/{pid}/fd").Select(Target).OfType<string>().Where(t => !IsRuntimeFile(t)).Order(StringComparer.Ordinal)];

    private static bool IsRuntimeFile(string target) =>
        target.StartsWith(AppContext.BaseDirectory, StringComparison.Ordinal)
        || target.StartsWith(Path.GetDirectoryName(typeof(object).Assembly.Location)!, StringComparison.Ordinal)
        || target.EndsWith(".dll", StringComparison.Ordinal) || target.Contains(".so", StringComparison.Ordinal);

    private static string? Target(string link)
    {
        try
        {
            var target = new FileInfo(link).LinkTarget;

            // Kinds, not inode numbers: a socket closed and another opened is no leak.
            return target is null ? null : System.Text.RegularExpressions.Regex.Replace(target, @"\[\d+\]$", "");
        }
        catch (IOException)
        {
            return null; // closed while listed
        }
    }

    /// <summary>The descriptors once they stop changing (or, given <paramref name="expected"/>, once they are those), within 10 s: closing is not instant.</summary>
    private static async Task<string[]> SettledAsync(Func<string[]> read, string[]? expected = null)
    {
        var last = read();
        for (var i = 0; i < 100; i++)
        {
            await Task.Delay(100);
            var now = read();
            if (expected is { } e ? now.SequenceEqual(e) : now.SequenceEqual(last))
            {
                return now;
            }

            last = now;
        }

        return last;
    }
}
