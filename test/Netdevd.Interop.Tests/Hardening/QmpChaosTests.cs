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
/// unix path that surfaced .NET's exceptions, one of them ending the process.
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

    private static async Task RunAsync(int clients, int seed, int operations)
    {
        Assert.SkipUnless(HostTools.IsRoot, "needs root: runs the daemon in a network namespace of its own, where its taps and bridges go");
        HostTools.Require("ip", "iproute2");
        await using var ns = await TestNamespace.CreateAsync();
        var dir = HostTools.TempDir();
        ChaosCommands.WriteScripts(dir);
        var qmpPath = Path.Combine(dir, "q.sock");
        using var daemon = CapturedProcess.Start("ip", ["netns", "exec", ns.Name, Path.Combine(AppContext.BaseDirectory, "netdevd"), "--qmp", $"unix:{qmpPath},server=on,wait=off"]);
        var sessions = new List<QmpTestClient>();
        try
        {
            for (var i = 0; i < clients; i++)
            {
                sessions.Add(await QmpTestClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(30)));
            }

            var qmp = sessions[0];

            // A warm-up round: the runtime's lazily made descriptors (the first socket of each
            // family, the thread pool's) are not the netdevs'.
            foreach (var (name, args) in new ChaosCommands(new Random(seed), dir).Take(200))
            {
                AssertAnswer(name, args, await qmp.ExecuteAsync(name, args), daemon);
            }

            await DeleteEverythingAsync(qmp);
            var descriptors = await SettledAsync(() => Descriptors(daemon.Pid));

            await Task.WhenAll(sessions.Select((session, k) => Task.Run(async () =>
            {
                foreach (var (name, args) in new ChaosCommands(new Random(seed + 1 + k), dir).Take(operations))
                {
                    AssertAnswer(name, args, await session.ExecuteAsync(name, args), daemon);
                }
            })));

            await DeleteEverythingAsync(qmp);
            Assert.Empty((JsonArray)(await qmp.ExecuteAsync("query-netdevs"))["return"]!);
            Assert.Equal(descriptors, await SettledAsync(() => Descriptors(daemon.Pid), descriptors));
            Assert.False(daemon.HasExited, daemon.Output);
            foreach (var sign in new[] { "Unhandled exception", "dropped a frame after", "failed unexpectedly", "   at " })
            {
                Assert.DoesNotContain(sign, daemon.Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }

            Directory.Delete(dir, true);
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

    private static async Task DeleteEverythingAsync(QmpTestClient qmp)
    {
        foreach (var netdev in (JsonArray)(await qmp.ExecuteAsync("query-netdevs"))["return"]!)
        {
            await qmp.ExecuteAsync("netdev_del", new { id = (string)netdev!["id"]! });
        }

        foreach (var chardev in (JsonArray)(await qmp.ExecuteAsync("query-chardev"))["return"]!)
        {
            await qmp.ExecuteAsync("chardev-remove", new { id = (string)chardev!["label"]! });
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
