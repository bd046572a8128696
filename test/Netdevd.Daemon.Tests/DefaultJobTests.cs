namespace Netdevd.Daemon.Tests;

/// <summary>netdevd with no arguments: a monitor and a network a VM can attach to, cleaned up on Ctrl-C.</summary>
public sealed class DefaultJobTests
{
    [Fact]
    public async Task No_arguments_prints_the_QEMU_options_serves_QMP_and_cleans_up_on_Ctrl_C()
    {
        var runtime = Directory.CreateTempSubdirectory("nd-xdg-").FullName;
        try
        {
            await using var daemon = DaemonProcess.Start([], new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime });
            await daemon.WaitForOutputAsync("-device virtio-net-pci,netdev=net0", TimeSpan.FromSeconds(30));

            var dir = Path.Combine(runtime, "netdevd");
            var vmSocket = Path.Combine(dir, "vm0.sock");
            Assert.Contains($"-netdev stream,id=net0,server=off,addr.type=unix,addr.path={vmSocket} -device virtio-net-pci,netdev=net0", daemon.StandardOutput, StringComparison.Ordinal);
            var qmpPath = Path.Combine(dir, "qmp.sock");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(qmpPath) & (UnixFileMode)0x1ff);

            using (var qmp = await QmpClient.ConnectAsync(qmpPath))
            {
                var r = await qmp.ExecuteAsync("{\"execute\":\"query-netdevs\"}");
                var netdevs = r["return"]!.AsArray();
                Assert.Contains(netdevs, n => (string?)n!["id"] == "vm0" && (string?)n["type"] == "stream" && (string?)n["peer"] == "hub0port0");
                Assert.Contains(netdevs, n => (string?)n!["id"] == "hub0port0" && (string?)n["type"] == "hubport");

                var add = await qmp.ExecuteAsync("{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"p1\",\"hubid\":0}}");
                Assert.NotNull(add["return"]);
            }

            Assert.True(File.Exists(vmSocket));

            // As passt: the VM's socket and the user network share one frame thread.
            var threads = daemon.ThreadNames;
            Assert.True(threads.Count(n => n == "io0") == 1, string.Join(", ", threads));
            Assert.DoesNotContain(threads, n => n.StartsWith("user-", StringComparison.Ordinal) || n.StartsWith("stream:", StringComparison.Ordinal));

            Assert.Equal(0, await daemon.InterruptAsync(TimeSpan.FromSeconds(20)));
            Assert.False(File.Exists(qmpPath), "the QMP socket is removed at exit");
            Assert.False(File.Exists(vmSocket), "the VM socket is removed at exit");
        }
        finally
        {
            Directory.Delete(runtime, true);
        }
    }

    [Fact]
    public async Task An_explicit_io_threads_0_gives_the_default_jobs_netdevs_a_thread_each()
    {
        var runtime = Directory.CreateTempSubdirectory("nd-xdg-").FullName;
        try
        {
            await using var daemon = DaemonProcess.Start(["--io-threads", "0"], new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime });
            await daemon.WaitForOutputAsync("-device virtio-net-pci,netdev=net0", TimeSpan.FromSeconds(30));

            var threads = daemon.ThreadNames;
            Assert.True(threads.Contains("user-user0"), string.Join(", ", threads));
            Assert.DoesNotContain("io0", threads);
            Assert.Equal(0, await daemon.InterruptAsync(TimeSpan.FromSeconds(20)));
        }
        finally
        {
            Directory.Delete(runtime, true);
        }
    }

    [Fact]
    public async Task Ctrl_C_stops_it_even_when_started_with_SIGINT_ignored()
    {
        // A shell starts background jobs with SIGINT ignored and exec keeps that: netdevd started
        // from a script's `&` (CI's test run was one) ignored Ctrl-C and never cleaned up.
        var runtime = Directory.CreateTempSubdirectory("nd-xdg-").FullName;
        try
        {
            await using var daemon = DaemonProcess.Start([], new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime },
                launcher: ["sh", "-c", "trap '' INT; exec \"$@\"", "sh"]);
            await daemon.WaitForOutputAsync("-device virtio-net-pci,netdev=net0", TimeSpan.FromSeconds(30));
            Assert.Equal(0, await daemon.InterruptAsync(TimeSpan.FromSeconds(20)));
            Assert.False(File.Exists(Path.Combine(runtime, "netdevd", "qmp.sock")), "the QMP socket is removed at exit");
        }
        finally
        {
            Directory.Delete(runtime, true);
        }
    }

    [Fact]
    public async Task Quit_over_QMP_stops_the_daemon_with_status_0()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var qmpPath = Path.Combine(dir, "q.sock");
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{qmpPath},server=on,wait=off", "--netdev", "hubport,id=h,hubid=3"]);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(qmpPath) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            using (var qmp = await QmpClient.ConnectAsync(qmpPath))
            {
                var r = await qmp.ExecuteAsync("{\"execute\":\"query-netdevs\"}");
                Assert.Equal("h", (string?)r["return"]![0]!["id"]);
                await qmp.ExecuteAsync("{\"execute\":\"quit\"}");
            }

            var exited = DateTime.UtcNow.AddSeconds(20);
            while (!daemon.HasExited && DateTime.UtcNow < exited)
            {
                await Task.Delay(50);
            }

            Assert.True(daemon.HasExited);
            Assert.Equal(0, daemon.ExitCode);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
