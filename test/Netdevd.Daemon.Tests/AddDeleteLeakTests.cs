using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Netdevd.Daemon.Tests;

/// <summary>
/// A management client that adds and deletes netdevs all day (libvirt's hotplug, a test rig)
/// must not wear the daemon down: after every round the process holds exactly the descriptors
/// and netdevd threads it held before, whatever the types and however they were connected.
/// </summary>
public sealed class AddDeleteLeakTests
{
    private const int Rounds = 25;

    [Fact]
    public async Task Adding_and_deleting_every_kind_of_netdev_leaves_no_descriptor_or_thread_behind()
    {
        var dir = Directory.CreateTempSubdirectory("nd-leak-").FullName;
        try
        {
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{dir}/q.sock,server=on,wait=off"]);
            using var qmp = await StartupTests.ConnectWhenReadyAsync(daemon, $"{dir}/q.sock", TimeSpan.FromSeconds(60));
            var netdevs = Netdevs(dir);

            // Two rounds first: the runtime's own lazily made threads and descriptors (thread
            // pool, timers, the first socket of each family) are not the netdevs'.
            for (var round = 0; round < 2; round++)
            {
                await RoundAsync(qmp, netdevs);
            }

            var descriptors = await StableAsync(() => Descriptors(daemon.Pid));
            var threads = await StableAsync(() => NetdevdThreads(daemon));
            for (var round = 0; round < Rounds; round++)
            {
                await RoundAsync(qmp, netdevs);
            }

            Assert.Equal(descriptors, await ReachesAsync(() => Descriptors(daemon.Pid), descriptors));
            Assert.Equal(threads, await ReachesAsync(() => NetdevdThreads(daemon), threads));
            Assert.False(daemon.HasExited, daemon.StandardError);
            var left = await qmp.ExecuteAsync("{\"execute\":\"query-netdevs\"}");
            Assert.Empty(left["return"]!.AsArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Each kind a user can add without root or an outside switch, connected to one another where they have a far end.</summary>
    private static List<(string Id, string Json)> Netdevs(string dir)
    {
        var tcp = FreePort(SocketType.Stream, ProtocolType.Tcp);
        var (udpA, udpB) = (FreePort(SocketType.Dgram, ProtocolType.Udp), FreePort(SocketType.Dgram, ProtocolType.Udp));
        var l2tp = FreePort(SocketType.Dgram, ProtocolType.Udp);
        return
        [
            ("u", "{\"type\":\"user\",\"id\":\"u\",\"ipv6\":true}"),
            ("ss", $"{{\"type\":\"stream\",\"id\":\"ss\",\"server\":true,\"addr\":{{\"type\":\"unix\",\"path\":\"{dir}/s.sock\"}}}}"),
            ("sc", $"{{\"type\":\"stream\",\"id\":\"sc\",\"server\":false,\"addr\":{{\"type\":\"unix\",\"path\":\"{dir}/s.sock\"}}}}"),
            ("sl", $"{{\"type\":\"socket\",\"id\":\"sl\",\"listen\":\"127.0.0.1:{tcp}\"}}"),
            ("sk", $"{{\"type\":\"socket\",\"id\":\"sk\",\"connect\":\"127.0.0.1:{tcp}\"}}"),
            ("su", $"{{\"type\":\"socket\",\"id\":\"su\",\"udp\":\"127.0.0.1:{udpB}\",\"localaddr\":\"127.0.0.1:{udpA}\"}}"),
            ("d1", $"{{\"type\":\"dgram\",\"id\":\"d1\",\"local\":{{\"type\":\"unix\",\"path\":\"{dir}/d1\"}},\"remote\":{{\"type\":\"unix\",\"path\":\"{dir}/d2\"}}}}"),
            ("d2", $"{{\"type\":\"dgram\",\"id\":\"d2\",\"local\":{{\"type\":\"unix\",\"path\":\"{dir}/d2\"}},\"remote\":{{\"type\":\"unix\",\"path\":\"{dir}/d1\"}}}}"),
            ("l2", $"{{\"type\":\"l2tpv3\",\"id\":\"l2\",\"src\":\"127.0.0.1\",\"dst\":\"127.0.0.1\",\"udp\":true,\"srcport\":\"{l2tp}\",\"dstport\":\"{l2tp}\",\"txsession\":1,\"rxsession\":1}}"),
            ("vb", $"{{\"type\":\"vhost-user-backend\",\"id\":\"vb\",\"addr\":{{\"type\":\"unix\",\"path\":\"{dir}/vb.sock\"}}}}"),
            ("h1", "{\"type\":\"hubport\",\"id\":\"h1\",\"hubid\":7,\"netdev\":\"u\"}"),
            ("h2", "{\"type\":\"hubport\",\"id\":\"h2\",\"hubid\":7,\"netdev\":\"sc\"}"),
            ("h3", "{\"type\":\"hubport\",\"id\":\"h3\",\"hubid\":7}"),
        ];
    }

    /// <summary>Adds every netdev, then deletes them newest first; every command must succeed.</summary>
    private static async Task RoundAsync(QmpClient qmp, List<(string Id, string Json)> netdevs)
    {
        foreach (var (id, json) in netdevs)
        {
            var r = await qmp.ExecuteAsync($"{{\"execute\":\"netdev_add\",\"arguments\":{json}}}");
            Assert.True(r.ContainsKey("return"), $"netdev_add {id}: {r.ToJsonString()}");
        }

        for (var i = netdevs.Count - 1; i >= 0; i--)
        {
            var r = await qmp.ExecuteAsync($"{{\"execute\":\"netdev_del\",\"arguments\":{{\"id\":\"{netdevs[i].Id}\"}}}}");
            Assert.True(r.ContainsKey("return"), $"netdev_del {netdevs[i].Id}: {r.ToJsonString()}");
        }
    }

    /// <summary>The value once it has stopped changing for a while (threads end and sockets close a little after the replies).</summary>
    internal static async Task<T> StableAsync<T>(Func<T> read)
        where T : IEquatable<T>
    {
        var last = read();
        var same = 0;
        for (var i = 0; i < 100 && same < 5; i++)
        {
            await Task.Delay(50);
            var now = read();
            same = now.Equals(last) ? same + 1 : 0;
            last = now;
        }

        return last;
    }

    /// <summary>The value once it equals <paramref name="expected"/>, or what it is after 5 s.</summary>
    internal static async Task<T> ReachesAsync<T>(Func<T> read, T expected)
        where T : IEquatable<T>
    {
        var now = read();
        for (var i = 0; i < 100 && !now.Equals(expected); i++)
        {
            await Task.Delay(50);
            now = read();
        }

        return now;
    }

    internal static int Descriptors(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    /// <summary>netdevd's own threads (I/O threads, netdev threads), by name; the runtime's pools come and go on their own.</summary>
    private static string NetdevdThreads(DaemonProcess daemon) =>
        string.Join(',', daemon.ThreadNames.Where(n => !n.StartsWith(".NET", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

    private static int FreePort(SocketType type, ProtocolType protocol)
    {
        using var s = new Socket(AddressFamily.InterNetwork, type, protocol);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
