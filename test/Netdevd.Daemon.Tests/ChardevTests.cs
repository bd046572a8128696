using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Netdevd.Daemon.Tests;

/// <summary>-chardev and chardev-add/chardev-remove/query-chardev as a user sees them: QEMU 9.1's texts.</summary>
public sealed class ChardevTests
{
    [Theory]
    [InlineData("file,id=f,path=/tmp/x", "'file' is not a valid char driver name")]
    [InlineData("pty,id=p", "'pty' is not a valid char driver name")]
    [InlineData("nosuch,id=p", "'nosuch' is not a valid char driver name")]
    [InlineData("socket,path=/tmp/x", "chardev: no id specified")]
    [InlineData("id=c", "chardev: \"c\" missing backend")]
    [InlineData("socket,id=c,path=/tmp/x,bogus=1", "Invalid parameter 'bogus'")]
    [InlineData("socket,id=c,path=/tmp/x,server=maybe", "Parameter 'server' expects 'on' or 'off'")]
    [InlineData("socket,id=c,path=/tmp/x,reconnect-ms=soon", "Parameter 'reconnect-ms' expects a number")]
    [InlineData("socket,id=c,path=/tmp/x,host=localhost,port=1", "None or one of 'path', 'fd' or 'host' option required.")]
    [InlineData("socket,id=c,host=localhost", "chardev: socket: no port given")]
    [InlineData("socket,id=c,path=/tmp/x,delay=on,nodelay=on", "'delay' and 'nodelay' are mutually exclusive")]
    [InlineData("socket,id=1c,path=/tmp/x", "Parameter 'id' expects an identifier")]
    [InlineData("socket,id=c,path=/nonexistent-netdevd/s,wait=off", "'wait' option is incompatible with socket in client connect mode")]
    [InlineData("socket,id=c,path=/nonexistent-netdevd/s,server=on,reconnect=1", "'reconnect' option is incompatible with socket in server listen mode")]
    [InlineData("socket,id=c,path=/nonexistent-netdevd/s,reconnect=1,reconnect-ms=5", "'reconnect' and 'reconnect-ms' are mutually exclusive")]
    [InlineData("socket,id=c,path=/nonexistent-netdevd/s", "Failed to connect to '/nonexistent-netdevd/s': No such file or directory")]
    public async Task A_bad_chardev_prints_QEMUs_line_and_exits_1(string spec, string message)
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("-chardev", spec, "-netdev", "hubport,id=h,hubid=0");

        Assert.Equal(1, code);
        Assert.Equal($"netdevd: -chardev {spec}: {message}", stderr.Split('\n')[0].TrimEnd('\r'));
    }

    [Theory]
    [InlineData("vhost-user,id=v,chardev=nosuch", "chardev \"nosuch\" not found")]
    [InlineData("vhost-user,id=v,chardev=t", "chardev \"t\" does not support FD passing")]
    [InlineData("vhost-user,id=v,chardev=u,queues=0", "vhost-user number of queues must be in range [1, 1024]")]
    [InlineData("vhost-user,id=v", "Parameter 'chardev' is missing")]
    public async Task A_bad_vhost_user_netdev_prints_QEMUs_line_and_exits_1(string spec, string message)
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var (code, _, stderr) = await DaemonProcess.RunAsync(
                "-chardev", $"socket,id=u,path={dir}/u.sock,server=on,wait=off",
                "-chardev", "socket,id=t,host=127.0.0.1,port=0,server=on,wait=off",
                "-netdev", spec);

            Assert.Equal(1, code);
            Assert.Equal($"netdevd: -netdev {spec}: {message}", stderr.Split('\n')[0].TrimEnd('\r'));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_chardev_id_given_twice_is_a_duplicate()
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("-chardev", "socket,id=c,path=/tmp/a,server=on,wait=off", "-chardev", "socket,id=c,path=/tmp/b,server=on,wait=off");

        Assert.Equal(1, code);
        Assert.Equal("netdevd: -chardev socket,id=c,path=/tmp/b,server=on,wait=off: Duplicate ID 'c' for chardev", stderr.Split('\n')[0].TrimEnd('\r'));
    }

    [Fact]
    public async Task A_command_line_server_chardev_listens_and_shows_in_query_chardev()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var qmpPath = Path.Combine(dir, "q.sock");
            var sock = Path.Combine(dir, "c.sock");
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{qmpPath},server=on,wait=off", "-chardev", $"socket,id=c0,path={sock},server=on,wait=off"]);
            using var qmp = await StartupTests.ConnectWhenReadyAsync(daemon, qmpPath, TimeSpan.FromSeconds(60));

            var list = (JsonArray)(await qmp.ExecuteAsync("""{"execute":"query-chardev"}"""))["return"]!;
            var c0 = (JsonObject)Assert.Single(list)!;
            Assert.Equal("c0", (string?)c0["label"]);
            Assert.Equal($"disconnected:unix:{sock},server=on", (string?)c0["filename"]);
            Assert.False((bool)c0["frontend-open"]!);

            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(sock));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Chardev_add_query_and_remove_over_QMP_with_QEMUs_errors()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var qmpPath = Path.Combine(dir, "q.sock");
            var sock = Path.Combine(dir, "c.sock");
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{qmpPath},server=on,wait=off"]);
            using var qmp = await StartupTests.ConnectWhenReadyAsync(daemon, qmpPath, TimeSpan.FromSeconds(60));

            var add = """{"execute":"chardev-add","arguments":{"id":"c1","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":""" + "\"" + sock + "\"" + """}},"server":true,"wait":false}}}}""";
            Assert.Equal("{}", (await qmp.ExecuteAsync(add))["return"]!.ToJsonString());
            Assert.True(File.Exists(sock));
            Assert.Equal("Chardev with id 'c1' already exists", Desc(await qmp.ExecuteAsync(add)));

            var list = (JsonArray)(await qmp.ExecuteAsync("""{"execute":"query-chardev"}"""))["return"]!;
            Assert.Equal($"disconnected:unix:{sock},server=on", (string?)((JsonObject)Assert.Single(list)!)["filename"]);

            Assert.Equal(
                "Failed to add chardev 'f': 'file' is not a valid char driver name",
                Desc(await qmp.ExecuteAsync("""{"execute":"chardev-add","arguments":{"id":"f","backend":{"type":"file","data":{"out":"/tmp/x"}}}}""")));
            Assert.Equal(
                "Failed to add chardev 'cc': Failed to connect to '/nonexistent-netdevd/s': No such file or directory",
                Desc(await qmp.ExecuteAsync("""{"execute":"chardev-add","arguments":{"id":"cc","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"/nonexistent-netdevd/s"}},"server":false}}}}""")));
            Assert.Equal(
                "Failed to add chardev 'cc': 'wait' option is incompatible with socket in client connect mode",
                Desc(await qmp.ExecuteAsync("""{"execute":"chardev-add","arguments":{"id":"cc","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"/x"}},"server":false,"wait":true}}}}""")));

            Assert.Equal("Chardev 'nosuch' not found", Desc(await qmp.ExecuteAsync("""{"execute":"chardev-remove","arguments":{"id":"nosuch"}}""")));
            Assert.Equal("{}", (await qmp.ExecuteAsync("""{"execute":"chardev-remove","arguments":{"id":"c1"}}"""))["return"]!.ToJsonString());
            Assert.False(File.Exists(sock));
            Assert.Empty((JsonArray)(await qmp.ExecuteAsync("""{"execute":"query-chardev"}"""))["return"]!);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// One monitor's vhost-user netdev_add waits for a back-end that never comes (QEMU blocks its
    /// whole monitor there): another monitor's netdev commands go on meanwhile, with the id taken
    /// and the netdev not there yet; closing the waiting monitor's connection ends the add and
    /// frees its chardev.
    /// </summary>
    [Fact]
    public async Task A_vhost_user_netdev_add_waiting_for_its_back_end_holds_up_no_other_monitor()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var qmpPath = Path.Combine(dir, "q.sock");
            var sock = Path.Combine(dir, "c.sock");
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{qmpPath},server=on,wait=off", "-chardev", $"socket,id=c0,path={sock},server=on,wait=off"]);
            using var other = await StartupTests.ConnectWhenReadyAsync(daemon, qmpPath, TimeSpan.FromSeconds(60));
            var waiting = await QmpClient.ConnectAsync(qmpPath);
            await waiting.SendAsync("""{"execute":"netdev_add","arguments":{"id":"v0","type":"vhost-user","chardev":"c0"}}""");
            await FrontendOpenAsync(other, true);

            Assert.Equal("{}", (await other.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"h","type":"hubport","hubid":0}}"""))["return"]!.ToJsonString());
            Assert.Equal("{}", (await other.ExecuteAsync("""{"execute":"set_link","arguments":{"name":"h","up":false}}"""))["return"]!.ToJsonString());
            Assert.Equal("Duplicate ID 'v0'", Desc(await other.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"v0","type":"hubport","hubid":0}}""")));
            Assert.Equal("Device 'v0' not found", Desc(await other.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"v0"}}""")));
            var netdevs = (JsonArray)(await other.ExecuteAsync("""{"execute":"query-netdevs"}"""))["return"]!;
            Assert.Equal("h", (string?)((JsonObject)Assert.Single(netdevs)!)["id"]);
            Assert.Equal("Chardev 'c0' is busy", Desc(await other.ExecuteAsync("""{"execute":"chardev-remove","arguments":{"id":"c0"}}""")));
            Assert.Equal("{}", (await other.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"h"}}"""))["return"]!.ToJsonString());

            waiting.Dispose();
            await FrontendOpenAsync(other, false);
            Assert.Equal("{}", (await other.ExecuteAsync("""{"execute":"chardev-remove","arguments":{"id":"c0"}}"""))["return"]!.ToJsonString());
            Assert.Empty((JsonArray)(await other.ExecuteAsync("""{"execute":"query-netdevs"}"""))["return"]!);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// One monitor's chardev-add of a wait=on server waits for its first client (QEMU blocks all
    /// of itself there): another monitor's chardev commands go on meanwhile, the id taken and the
    /// chardev not there yet; a client's arrival answers the add; closing the waiting monitor's
    /// connection instead ends the add, closes its listener and frees the id.
    /// </summary>
    [Fact]
    public async Task A_chardev_add_waiting_for_its_first_client_holds_up_no_other_monitor()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var qmpPath = Path.Combine(dir, "q.sock");
            var waitPath = Path.Combine(dir, "w.sock");
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{qmpPath},server=on,wait=off"]);
            using var other = await StartupTests.ConnectWhenReadyAsync(daemon, qmpPath, TimeSpan.FromSeconds(60));
            using (var waiting = await QmpClient.ConnectAsync(qmpPath))
            {
                var answer = waiting.ExecuteAsync(AddSocket("w", waitPath, wait: true));
                await ListeningAsync(waitPath, true);

                Assert.Equal("{}", (await other.ExecuteAsync(AddSocket("c1", Path.Combine(dir, "c1.sock"), wait: false)))["return"]!.ToJsonString());
                Assert.Equal("Chardev 'w' not found", Desc(await other.ExecuteAsync("""{"execute":"chardev-remove","arguments":{"id":"w"}}""")));
                Assert.Equal("Chardev with id 'w' already exists", Desc(await other.ExecuteAsync(AddSocket("w", Path.Combine(dir, "w2.sock"), wait: false))));
                var list = (JsonArray)(await other.ExecuteAsync("""{"execute":"query-chardev"}"""))["return"]!;
                Assert.Equal("c1", (string?)((JsonObject)Assert.Single(list)!)["label"]);
                Assert.Equal("{}", (await other.ExecuteAsync("""{"execute":"chardev-remove","arguments":{"id":"c1"}}"""))["return"]!.ToJsonString());
                Assert.False(answer.IsCompleted);

                using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await client.ConnectAsync(new UnixDomainSocketEndPoint(waitPath));
                Assert.Equal("{}", (await answer.WaitAsync(TimeSpan.FromSeconds(20)))["return"]!.ToJsonString());
                list = (JsonArray)(await other.ExecuteAsync("""{"execute":"query-chardev"}"""))["return"]!;
                Assert.Equal($"unix:{waitPath},server=on", (string?)((JsonObject)Assert.Single(list)!)["filename"]);
                Assert.Equal("{}", (await other.ExecuteAsync("""{"execute":"chardev-remove","arguments":{"id":"w"}}"""))["return"]!.ToJsonString());
            }

            var descriptors = await AddDeleteLeakTests.StableAsync(() => AddDeleteLeakTests.Descriptors(daemon.Pid));
            var hangingUp = await QmpClient.ConnectAsync(qmpPath);
            await hangingUp.SendAsync(AddSocket("w", waitPath, wait: true));
            await ListeningAsync(waitPath, true);
            hangingUp.Dispose();

            await ListeningAsync(waitPath, false);
            Assert.Equal(descriptors, await AddDeleteLeakTests.ReachesAsync(() => AddDeleteLeakTests.Descriptors(daemon.Pid), descriptors));
            Assert.Equal("{}", (await other.ExecuteAsync(AddSocket("w", waitPath, wait: false)))["return"]!.ToJsonString());
            Assert.Equal("w", (string?)((JsonObject)Assert.Single((JsonArray)(await other.ExecuteAsync("""{"execute":"query-chardev"}"""))["return"]!)!)["label"]);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>A chardev-add of a unix socket server at <paramref name="path"/>.</summary>
    private static string AddSocket(string id, string path, bool wait) =>
        "{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"" + id + "\",\"backend\":{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + path + "\"}},\"server\":true,\"wait\":" + (wait ? "true" : "false") + "}}}}";

    /// <summary>Waits until <paramref name="path"/> accepts connections, or until it is gone.</summary>
    private static async Task ListeningAsync(string path, bool listening)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (File.Exists(path) != listening)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{path} did not {(listening ? "appear" : "go")}");
            await Task.Delay(50);
        }

        if (!listening)
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            Assert.Throws<SocketException>(() => probe.Connect(new UnixDomainSocketEndPoint(path)));
        }
    }

    /// <summary>Waits until query-chardev shows c0's front-end open (claimed by a netdev) or not.</summary>
    private static async Task FrontendOpenAsync(QmpClient qmp, bool open)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var list = (JsonArray)(await qmp.ExecuteAsync("""{"execute":"query-chardev"}"""))["return"]!;
            if ((bool)((JsonObject)Assert.Single(list)!)["frontend-open"]! == open)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"c0's frontend-open did not become {open}");
            await Task.Delay(50);
        }
    }

    private static string? Desc(JsonObject reply) => (string?)reply["error"]?["desc"];
}
