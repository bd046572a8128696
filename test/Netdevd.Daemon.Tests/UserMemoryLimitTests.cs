namespace Netdevd.Daemon.Tests;

/// <summary>--user-memory-limit SIZE: what each user netdev may hold for its guest, in QEMU's size syntax.</summary>
public sealed class UserMemoryLimitTests
{
    [Theory]
    [InlineData("lots", "--user-memory-limit: 'lots' is not a size (e.g. 64M, 1G).")]
    [InlineData("-5M", "--user-memory-limit: '-5M' is not a size (e.g. 64M, 1G).")]
    [InlineData("512k", "--user-memory-limit must be at least 1M.")]
    public async Task A_bad_size_is_refused(string value, string message)
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("--user-memory-limit", value, "--netdev", "user,id=u");

        Assert.Equal(1, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_size_in_qemu_syntax_is_accepted_and_user_netdevs_start()
    {
        var dir = Directory.CreateTempSubdirectory("nd-mem-").FullName;
        try
        {
            await using var daemon = DaemonProcess.Start(
            [
                "--user-memory-limit", "1.5G",
                "--qmp", $"unix:{dir}/q.sock,server=on,wait=off",
                "--netdev", "user,id=u",
            ]);
            using var qmp = await ConnectAsync($"{dir}/q.sock", daemon);
            var reply = await qmp.ExecuteAsync("{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"user\",\"id\":\"u2\"}}");
            Assert.NotNull(reply["return"]);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Help_lists_the_option()
    {
        var (code, stdout, _) = await DaemonProcess.RunAsync("--help");

        Assert.Equal(0, code);
        Assert.Contains("--user-memory-limit", stdout, StringComparison.Ordinal);
    }

    private static async Task<QmpClient> ConnectAsync(string path, DaemonProcess daemon)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await QmpClient.ConnectAsync(path);
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline && !daemon.HasExited)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }
}
