namespace Netdevd.Daemon.Tests;

/// <summary>
/// <c>netdev_add hubport id=p2,hubid=1,netdev=p1</c> with p1 a port of hub 1, sent to a running
/// daemon: QEMU 7.2 accepts it, and so does netdevd, which then still answers, forwards frames
/// between its stream netdevs and deletes netdevs. Before, the command overflowed the stack and
/// the daemon aborted.
/// </summary>
public sealed class HubLoopDaemonTests
{
    [Fact]
    public async Task A_hub_loop_made_over_QMP_leaves_a_daemon_that_answers_and_forwards()
    {
        var dir = Directory.CreateTempSubdirectory("nd-loop-").FullName;
        try
        {
            await using var daemon = DaemonProcess.Start(
            [
                "--qmp", $"unix:{dir}/q.sock,server=on,wait=off",
                "--netdev", $"stream,id=a,server=on,addr.type=unix,addr.path={dir}/a.sock",
                "--netdev", $"stream,id=b,server=on,addr.type=unix,addr.path={dir}/b.sock",
                "--netdev", "hubport,id=ha,hubid=1,netdev=a",
                "--netdev", "hubport,id=hb,hubid=1,netdev=b",
            ]);
            using var a = await StreamPeer.ConnectAsync($"{dir}/a.sock", daemon);
            using var b = await StreamPeer.ConnectAsync($"{dir}/b.sock", daemon);
            using var qmp = await QmpClient.ConnectAsync($"{dir}/q.sock");
            var frame = new byte[1514];
            Random.Shared.NextBytes(frame);
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(a, b, frame));

            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"p1","type":"hubport","hubid":1}}"""))["return"]);
            var added = await qmp.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"p2","type":"hubport","hubid":1,"netdev":"p1"}}""");

            Assert.NotNull(added["return"]);
            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"query-version"}"""))["return"]);
            frame[0] ^= 0xff;
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(a, b, frame));
            frame[1] ^= 0xff;
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(b, a, frame));

            var netdevs = (await qmp.ExecuteAsync("""{"execute":"query-netdevs"}"""))["return"]!.AsArray();
            var p1 = netdevs.Single(n => (string)n!["id"]! == "p1")!;
            Assert.True((long)p1["stats"]!["loop-drops"]! >= 1);

            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"p2"}}"""))["return"]);
            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"p1"}}"""))["return"]);
            frame[2] ^= 0xff;
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(a, b, frame));
            Assert.False(daemon.HasExited, daemon.StandardError);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
