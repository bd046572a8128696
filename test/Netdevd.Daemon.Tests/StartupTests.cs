using System.Net.Sockets;

namespace Netdevd.Daemon.Tests;

/// <summary>
/// netdevd started as a service is (from '/'): it must not read configuration from, or watch,
/// the working directory; the generic host's defaults put a recursive inotify watch on it.
/// </summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Started_from_the_root_directory_it_answers_QMP_and_watches_no_files()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var qmpPath = Path.Combine(dir, "q.sock");
            await using var daemon = DaemonProcess.Start(["--qmp", $"unix:{qmpPath},server=on,wait=off", "--netdev", "hubport,id=h,hubid=0"], workingDirectory: "/");
            using (var qmp = await ConnectWhenReadyAsync(daemon, qmpPath, TimeSpan.FromSeconds(60)))
            {
                var r = await qmp.ExecuteAsync("{\"execute\":\"query-netdevs\"}");
                Assert.NotNull(r["return"]);
            }

            Assert.Equal(0, CountInotifyDescriptors(daemon.Pid));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task The_ready_line_says_where_QMP_is_served_or_that_it_is_not()
    {
        await using var daemon = DaemonProcess.Start(["--netdev", "hubport,id=h,hubid=0", "--netdev", "hubport,id=g,hubid=0"]);
        await daemon.WaitForLogAsync(" ready: ", TimeSpan.FromSeconds(60));
        Assert.Contains(" ready: 2 netdev(s), no QMP monitor", daemon.StandardError, StringComparison.Ordinal);

        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var qmpPath = Path.Combine(dir, "q.sock");
            await using var served = DaemonProcess.Start(["--qmp", $"unix:{qmpPath},server=on,wait=off", "--netdev", "hubport,id=h,hubid=0"]);
            await served.WaitForLogAsync(" ready: ", TimeSpan.FromSeconds(60));
            Assert.Contains($" ready: 1 netdev(s), QMP on unix:{qmpPath},server=on,wait=off", served.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Descriptors of the process that are inotify instances (each may hold any number of watches).</summary>
    internal static int CountInotifyDescriptors(int pid)
    {
        var count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == "anon_inode:inotify")
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }

        return count;
    }

    internal static async Task<QmpClient> ConnectWhenReadyAsync(DaemonProcess daemon, string qmpPath, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (File.Exists(qmpPath))
            {
                try
                {
                    return await QmpClient.ConnectAsync(qmpPath);
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                }
            }

            if (daemon.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"QMP did not answer on {qmpPath}. stderr: {daemon.StandardError}");
            }

            await Task.Delay(20);
        }
    }
}
