using System.Diagnostics;
using System.Globalization;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>
/// passt in the background, as libvirt starts it for <c>&lt;backend type='passt' logFile='...'/&gt;</c>:
/// what the daemon logs must reach --log-file (libvirt's only view of passt once it runs).
/// </summary>
public sealed class PasstLogFileTests
{
    [Fact]
    public async Task The_daemon_logs_to_the_log_file_once_in_the_background()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        var socket = Path.Combine(dir, "passt.socket");
        var pidFile = Path.Combine(dir, "passt.pid");
        var log = Path.Combine(dir, "passt.log");
        int? daemon = null;
        try
        {
            var (code, _, stderr) = await DaemonProcess.RunAsync("passt", "--one-off", "--socket", socket, "--pid", pidFile, "--log-file", log, "--tcp-ports", "none");
            Assert.True(code == 0, $"passt exited {code}: {stderr}");
            daemon = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);

            // The daemon logs that it serves the socket once ready; the logger writes on a thread of its own.
            var text = "";
            for (var i = 0; i < 300 && !text.Contains(socket, StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
                text = await File.ReadAllTextAsync(log);
            }

            Assert.True(text.Contains($"serving {socket}", StringComparison.Ordinal), $"the log file holds:\n{text}");
        }
        finally
        {
            if (daemon is { } pid && Directory.Exists($"/proc/{pid}"))
            {
                // Ours: started by this test, named by the pid file it gave.
                using var process = Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync();
            }

            Directory.Delete(dir, recursive: true);
        }
    }
}
