namespace Netdevd.Daemon.Tests;

/// <summary>--io-threads (default: a thread per netdev): where the netdevs' frames are moved, as a user sees it (ps -L) and as traffic shows.</summary>
public sealed class IoThreadsTests
{
    [Theory]
    [InlineData(null, new[] { "stream:a", "stream:b" }, new[] { "io0" })]
    [InlineData(0, new[] { "stream:a", "stream:b" }, new[] { "io0" })]
    [InlineData(1, new[] { "io0" }, new[] { "stream:a", "stream:b", "io1" })]
    [InlineData(2, new[] { "io0", "io1" }, new[] { "stream:a", "stream:b" })]
    public async Task Frames_cross_a_hub_whatever_the_threads(int? threads, string[] present, string[] absent)
    {
        var dir = Directory.CreateTempSubdirectory("nd-io-").FullName;
        try
        {
            string[] io = threads is { } n ? ["--io-threads", n.ToString(System.Globalization.CultureInfo.InvariantCulture)] : [];
            await using var daemon = DaemonProcess.Start(
            [
                .. io,
                "--qmp", $"unix:{dir}/q.sock,server=on,wait=off",
                "--netdev", $"stream,id=a,server=on,addr.type=unix,addr.path={dir}/a.sock",
                "--netdev", $"stream,id=b,server=on,addr.type=unix,addr.path={dir}/b.sock",
                "--netdev", "hubport,id=ha,hubid=0,netdev=a",
                "--netdev", "hubport,id=hb,hubid=0,netdev=b",
            ]);
            using var a = await StreamPeer.ConnectAsync($"{dir}/a.sock", daemon);
            using var b = await StreamPeer.ConnectAsync($"{dir}/b.sock", daemon);

            var frame = new byte[1514];
            Random.Shared.NextBytes(frame);
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(a, b, frame));
            frame[0] ^= 0xff;
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(b, a, frame));

            var names = daemon.ThreadNames;
            foreach (var name in present)
            {
                Assert.Contains(name, names);
            }

            foreach (var name in absent)
            {
                Assert.DoesNotContain(name, names);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("257")]
    public async Task An_out_of_range_count_is_refused(string value)
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("--io-threads", value, "--netdev", "hubport,id=h,hubid=0");

        Assert.Equal(1, code);
        Assert.Contains("--io-threads must be between 0 and 256.", stderr, StringComparison.Ordinal);
    }
}
