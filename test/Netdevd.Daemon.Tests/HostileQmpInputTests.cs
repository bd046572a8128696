using System.Text.Json.Nodes;

namespace Netdevd.Daemon.Tests;

/// <summary>
/// Names and paths over QMP that do not fit the kernel's fixed-size structures: QEMU's answer,
/// never .NET's text, and the daemon keeps serving.
/// </summary>
public sealed class HostileQmpInputTests
{
    private static readonly string LongPath = "/tmp/" + new string('q', 145);

    [Fact]
    public async Task A_stream_path_of_exactly_108_bytes_is_refused_in_the_info_not_stuck()
    {
        await using var rig = await Rig.StartAsync();
        var path = "/tmp/" + new string('e', 103);
        Assert.NotNull((await rig.Qmp.ExecuteAsync($$$$"""{"execute":"netdev_add","arguments":{"type":"stream","id":"s0","server":true,"addr":{"type":"unix","path":"{{{{path}}}}"}}}"""))["return"]);
        Assert.NotNull((await rig.Qmp.ExecuteAsync($$$$"""{"execute":"netdev_add","arguments":{"type":"stream","id":"s1","server":false,"addr":{"type":"unix","path":"{{{{path}}}}"}}}"""))["return"]);
        foreach (var id in new[] { "s0", "s1" })
        {
            Assert.Equal($"error: UNIX socket path '{path}' is too long", (string?)(await rig.SettledAsync(id))["info"]);
        }

        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task Long_unix_paths_get_QEMUs_text()
    {
        await using var rig = await Rig.StartAsync();

        var dgram = await rig.Qmp.ExecuteAsync($$$$"""{"execute":"netdev_add","arguments":{"type":"dgram","id":"d0","local":{"type":"unix","path":"{{{{LongPath}}}}"},"remote":{"type":"unix","path":"/tmp/x"}}}""");
        Assert.Equal($"UNIX socket path '{LongPath}' is too long", (string?)dgram["error"]?["desc"]);

        var guestfwd = await rig.Qmp.ExecuteAsync($$$"""{"execute":"netdev_add","arguments":{"type":"user","id":"u0","guestfwd":[{"str":"tcp:10.0.2.100:7000-unix:{{{LongPath}}}"}]}}""");
        Assert.Equal("Could not open guest forwarding device 'guestfwd.tcp.7000'", (string?)guestfwd["error"]?["desc"]);

        // stream reports its socket errors in the info string, as QEMU's worker thread does.
        Assert.NotNull((await rig.Qmp.ExecuteAsync($$$$"""{"execute":"netdev_add","arguments":{"type":"stream","id":"s0","server":true,"addr":{"type":"unix","path":"{{{{LongPath}}}}"}}}"""))["return"]);
        Assert.NotNull((await rig.Qmp.ExecuteAsync($$$$"""{"execute":"netdev_add","arguments":{"type":"stream","id":"s1","server":false,"addr":{"type":"unix","path":"{{{{LongPath}}}}"}}}"""))["return"]);
        foreach (var id in new[] { "s0", "s1" })
        {
            Assert.Equal($"error: UNIX socket path '{LongPath}' is too long", (string?)(await rig.SettledAsync(id))["info"]);
        }

        await rig.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("")]
    [InlineData("/tmp/\\u0000x")]
    [InlineData("\\u0000")]
    public async Task A_tftp_root_that_names_no_directory_is_taken_without_NET_text(string root)
    {
        await using var rig = await Rig.StartAsync();
        var r = await rig.Qmp.ExecuteAsync($$$"""{"execute":"netdev_add","arguments":{"type":"user","id":"u0","tftp":"{{{root}}}"}}""");
        Assert.NotNull(r["return"]);
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task A_tap_ifname_longer_than_15_bytes_is_cut_as_QEMU_cuts_it()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/dev/net/tun"))
        {
            Assert.Skip("creating a tap needs root and /dev/net/tun");
        }

        var unique = "ndh" + Guid.NewGuid().ToString("N")[..8];
        var name = unique + "-and-some-more-characters";
        await using var rig = await Rig.StartAsync();
        var add = await rig.Qmp.ExecuteAsync($$$"""{"execute":"netdev_add","arguments":{"type":"tap","id":"t0","ifname":"{{{name}}}","script":"no","downscript":"no"}}""");
        Assert.NotNull(add["return"]);

        var cut = name[..15];
        var tap = (await rig.NetdevsAsync()).Single(n => (string?)n!["id"] == "t0")!;
        Assert.Equal($"ifname={cut},script=no,downscript=no", (string?)tap["info"]);
        Assert.True(Directory.Exists($"/sys/class/net/{cut}"), $"the kernel has interface {cut}");

        Assert.NotNull((await rig.Qmp.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"t0"}}"""))["return"]);
        await rig.AssertStillServesAsync();
    }

    [Fact]
    public async Task A_tap_ifname_longer_than_15_bytes_on_the_command_line_is_cut_too()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/dev/net/tun"))
        {
            Assert.Skip("creating a tap needs root and /dev/net/tun");
        }

        var name = "ndc" + Guid.NewGuid().ToString("N")[..8] + "-and-more";
        await using var rig = await Rig.StartAsync("-netdev", $"tap,id=t0,ifname={name},script=no,downscript=no");
        var tap = (await rig.NetdevsAsync()).Single(n => (string?)n!["id"] == "t0")!;
        Assert.Equal($"ifname={name[..15]},script=no,downscript=no", (string?)tap["info"]);
    }

    /// <summary>A daemon with a monitor, and a client on it.</summary>
    internal sealed class Rig : IAsyncDisposable
    {
        private readonly string _dir;

        private Rig(string dir, DaemonProcess daemon, QmpClient qmp)
        {
            _dir = dir;
            Daemon = daemon;
            Qmp = qmp;
        }

        public DaemonProcess Daemon { get; }

        public QmpClient Qmp { get; }

        public static async Task<Rig> StartAsync(params string[] args)
        {
            var dir = Directory.CreateTempSubdirectory("nd-").FullName;
            var qmpPath = Path.Combine(dir, "q.sock");
            var daemon = DaemonProcess.Start([.. args, "--qmp", $"unix:{qmpPath},server=on,wait=off"]);
            var qmp = await StartupTests.ConnectWhenReadyAsync(daemon, qmpPath, TimeSpan.FromSeconds(60));
            return new Rig(dir, daemon, qmp);
        }

        public async Task<JsonArray> NetdevsAsync() => (await Qmp.ExecuteAsync("""{"execute":"query-netdevs"}"""))["return"]!.AsArray();

        /// <summary>
        /// A netdev's entry once its socket work is done: a stream's listen and connect run in the
        /// background, as QEMU's do, so right after netdev_add its info may still say
        /// "initializing" or "connecting". Waits up to 20 s (a loaded machine is slow, not wrong).
        /// </summary>
        public async Task<JsonNode> SettledAsync(string id)
        {
            for (var i = 0; ; i++)
            {
                var netdev = (await NetdevsAsync()).Single(n => (string?)n!["id"] == id)!;
                if ((string?)netdev["info"] is not ("initializing" or "connecting") || i == 200)
                {
                    return netdev;
                }

                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }

        /// <summary>The daemon still creates and deletes netdevs.</summary>
        public async Task AssertStillServesAsync()
        {
            Assert.NotNull((await Qmp.ExecuteAsync("""{"execute":"netdev_add","arguments":{"type":"hubport","id":"alive","hubid":7}}"""))["return"]);
            Assert.NotNull((await Qmp.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"alive"}}"""))["return"]);
            Assert.False(Daemon.HasExited);
        }

        public async ValueTask DisposeAsync()
        {
            Qmp.Dispose();
            await Daemon.DisposeAsync();
            Directory.Delete(_dir, true);
        }
    }
}
