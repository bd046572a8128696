using System.Text.Json.Nodes;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.AfXdp;

/// <summary>
/// An af-xdp add with absurd queue numbers, against the daemon in a memory cgroup of 256 MiB (as
/// a service manager confines a daemon): the answer is QEMU's error for the first queue the
/// interface does not have, and the daemon still makes a working AF_XDP netdev after it. The
/// XSKMAP was once sized by the queue ids asked for before any was bound: queues=2147483647 had
/// the kernel fill a 16 GiB map, half a minute of the machine's memory going while the registry
/// waited (the QMP chaos test's hang on a machine with the memory), or, charged to a cgroup
/// without it, failed at queue 0 with ENOMEM.
/// </summary>
public sealed class AfXdpMemoryLimitTests
{
    private const long Limit = 256L << 20;

    [Fact(Timeout = 120_000)]
    public async Task Absurd_queue_counts_get_QEMUs_error_within_a_256_MiB_cgroup()
    {
        Assert.SkipUnless(HostTools.IsRoot, "needs root: a memory cgroup, a network namespace and AF_XDP sockets");
        HostTools.Require("ip", "iproute2");
        using var cgroup = MemoryCgroup.TryCreate(Limit, out var why);
        Assert.SkipWhen(cgroup is null, $"no memory cgroup to confine the daemon in: {why}");

        await using var ns = await TestNamespace.CreateAsync();
        await ns.CheckAsync("ip", "link", "add", "xa", "type", "veth", "peer", "name", "xb");
        await ns.CheckAsync("ip", "link", "set", "xa", "up");
        await ns.CheckAsync("ip", "link", "set", "xb", "up");
        var dir = HostTools.TempDir();
        var qmpPath = Path.Combine(dir, "q.sock");
        var netdevd = Path.Combine(AppContext.BaseDirectory, "netdevd");
        using var daemon = CapturedProcess.Start("sh", ["-c", "echo $$ > \"$1\" && exec ip netns exec \"$2\" \"$3\" --qmp \"unix:$4,server=on,wait=off\"", "sh",
            cgroup!.ProcsFile, ns.Name, netdevd, qmpPath]);
        try
        {
            await using var qmp = await QmpTestClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(30));
            Assert.Contains(daemon.Pid, cgroup.Members());

            var huge = await qmp.ExecuteAsync("netdev_add", new Dictionary<string, object> { ["type"] = "af-xdp", ["id"] = "x0", ["ifname"] = "xa", ["queues"] = 2147483647 });
            Assert.Equal("failed to create AF_XDP socket for xa queue_id: 1: Invalid argument", (string?)huge["error"]?["desc"]);

            var far = await qmp.ExecuteAsync("netdev_add", new Dictionary<string, object> { ["type"] = "af-xdp", ["id"] = "x0", ["ifname"] = "xa", ["queues"] = 2147483647, ["start-queue"] = 2147483647 });
            Assert.Equal("failed to create AF_XDP socket for xa queue_id: 2147483647: Invalid argument", (string?)far["error"]?["desc"]);

            // Nothing was left of either, and a real one still fits in the limit. The kernel frees
            // a closed socket's hold on its queue from a work queue: until then a bind of queue 0
            // is refused with EBUSY (QEMU meets the same), so the add is tried again a few times.
            JsonObject added = [];
            for (var attempt = 0; attempt < 50; attempt++)
            {
                added = await qmp.ExecuteAsync("netdev_add", new Dictionary<string, object> { ["type"] = "af-xdp", ["id"] = "x0", ["ifname"] = "xa", ["mode"] = "skb" });
                if (!((string?)added["error"]?["desc"] ?? "").EndsWith("Device or resource busy", StringComparison.Ordinal))
                {
                    break;
                }

                await Task.Delay(100);
            }

            Assert.True(added.ContainsKey("return"), added.ToJsonString());
            Assert.False(daemon.HasExited, daemon.Output);
        }
        finally
        {
            daemon.Dispose();
            Directory.Delete(dir, true);
        }
    }

    /// <summary>A memory cgroup of the test's own (v2 where its memory controller is, else v1's), removed on dispose.</summary>
    private sealed class MemoryCgroup : IDisposable
    {
        private readonly string _path;

        private MemoryCgroup(string path, string procsFile)
        {
            _path = path;
            ProcsFile = procsFile;
        }

        /// <summary>Where a process writes its PID to join.</summary>
        public string ProcsFile { get; }

        public static MemoryCgroup? TryCreate(long limit, out string why)
        {
            var name = $"nd-test-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
            var v2 = "/sys/fs/cgroup";
            var v1 = "/sys/fs/cgroup/memory";
            string path;
            string limitFile;
            if (File.Exists(Path.Combine(v2, "cgroup.controllers")) && File.ReadAllText(Path.Combine(v2, "cgroup.controllers")).Split(' ', '\n').Contains("memory"))
            {
                path = Path.Combine(v2, name);
                limitFile = "memory.max";
            }
            else if (File.Exists(Path.Combine(v1, "memory.limit_in_bytes")))
            {
                path = Path.Combine(v1, name);
                limitFile = "memory.limit_in_bytes";
            }
            else
            {
                why = "neither cgroup v2 with the memory controller nor v1's memory hierarchy is mounted";
                return null;
            }

            try
            {
                Directory.CreateDirectory(path);
                File.WriteAllText(Path.Combine(path, limitFile), limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryRemove(path);
                why = $"{path}: {e.Message}";
                return null;
            }

            why = "";
            return new MemoryCgroup(path, Path.Combine(path, "cgroup.procs"));
        }

        public int[] Members() =>
            [.. File.ReadAllLines(ProcsFile).Where(l => l.Length > 0).Select(l => int.Parse(l, System.Globalization.CultureInfo.InvariantCulture))];

        /// <summary>Once its processes ended (the daemon is disposed first): an empty cgroup is removed with rmdir.</summary>
        public void Dispose()
        {
            for (var i = 0; i < 50 && File.Exists(ProcsFile) && Members().Length > 0; i++)
            {
                Thread.Sleep(100);
            }

            TryRemove(_path);
        }

        private static void TryRemove(string path)
        {
            try
            {
                Directory.Delete(path);
            }
            catch (IOException)
            {
                // Still has a member, or already gone: nothing more to do here.
            }
        }
    }
}
