using System.Diagnostics;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// rootlesskit 1.1 (Debian 12) as an unprivileged user with <c>--net=slirp4netns
/// --port-driver=slirp4netns</c>, finding netdevd as the slirp4netns in its PATH. rootlesskit
/// needs subordinate id ranges: the test gives the user nobody one in a mount namespace of its
/// own (its /etc/subuid and /etc/subgid bind-mounted over the host's, which stay untouched).
/// </summary>
public sealed class RootlesskitTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Unprivileged_rootlesskit_gets_tap0_its_network_and_a_published_port(bool sandbox)
    {
        TapTestKit.RequireRoot();
        HostTools.Require("rootlesskit", "rootlesskit");
        HostTools.Require("newuidmap", "uidmap");
        var setpriv = HostTools.Find("setpriv") ?? throw new InvalidOperationException("setpriv (util-linux) is missing");
        var curl = HostTools.Require("curl", "curl");
        var busybox = StaticBusybox.Require();
        var dir = HostTools.TempDir();
        File.SetUnixFileMode(dir, (UnixFileMode)0x1FF);
        Process? rootlesskit = null;
        try
        {
            Slirp4netnsProcess.Symlink(dir);
            await File.WriteAllTextAsync(Path.Combine(dir, "subuid"), "nobody:200000:65536\n");
            await File.WriteAllTextAsync(Path.Combine(dir, "subgid"), "nobody:200000:65536\n");
            var www = Directory.CreateDirectory(Path.Combine(dir, "www")).FullName;
            await File.WriteAllTextAsync(Path.Combine(www, "index.html"), "hello-from-rootlesskit\n");
            File.SetUnixFileMode(Path.Combine(www, "index.html"), (UnixFileMode)0x1A4);
            var port = HostTools.FreePort();
            var inner = $"ip -4 -o addr show tap0 > {dir}/addr.txt; {busybox} httpd -f -p 80 -h {www}";
            var start = new ProcessStartInfo("unshare")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var a in new[]
            {
                // A PID namespace of the test's own, whose first process dies with unshare: the
                // kernel then ends everything in it, rootlesskit's child and its httpd (which a
                // tree kill missed once reparented, and left running as nobody).
                "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c",
                $"mount --bind {dir}/subuid /etc/subuid && mount --bind {dir}/subgid /etc/subgid && exec {setpriv} --reuid=65534 --regid=65534 --clear-groups " +
                $"env HOME={dir} XDG_RUNTIME_DIR={dir} PATH={dir}:/usr/sbin:/usr/bin:/sbin:/bin " +
                // --debug: rootlesskit passes its slirp4netns's output on at debug level only; a
                // helper that dies before it is ready (once in a full run: "killed by signal")
                // would leave no word of why in the failure's message.
                $"rootlesskit --debug --state-dir={dir}/state --net=slirp4netns --port-driver=slirp4netns --disable-host-loopback {(sandbox ? "--slirp4netns-sandbox=true --slirp4netns-seccomp=true " : string.Empty)}-p 127.0.0.1:{port}:80/tcp sh -c \"{inner}\"",
            })
            {
                start.ArgumentList.Add(a);
            }

            rootlesskit = Process.Start(start)!;
            var stderr = rootlesskit.StandardError.ReadToEndAsync();
            var published = string.Empty;
            for (var i = 0; i < 120 && published != "hello-from-rootlesskit" && !rootlesskit.HasExited; i++)
            {
                published = (await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(30), curl, "-s", "--max-time", "5", $"http://127.0.0.1:{port}/index.html")).Stdout.Trim();
                if (published != "hello-from-rootlesskit")
                {
                    await Task.Delay(500);
                }
            }

            Assert.True(published == "hello-from-rootlesskit", rootlesskit.HasExited ? await stderr : "no answer through the published port");
            Assert.Contains("inet 10.0.2.100/24", await File.ReadAllTextAsync(Path.Combine(dir, "addr.txt")), StringComparison.Ordinal);

            // And the slirp4netns rootlesskit runs is netdevd, as nobody.
            var helper = FindHelper(Path.Combine(AppContext.BaseDirectory, "netdevd"), rootlesskit.Id);
            Assert.True(helper is not null, "no netdevd running as slirp4netns");
            var status = await File.ReadAllTextAsync($"/proc/{helper}/status");
            Assert.Contains("Uid:\t65534", status, StringComparison.Ordinal);
            if (sandbox)
            {
                // As slirp4netns: root of rootlesskit's user namespace, confined there.
                Assert.Contains("\nSeccomp:\t2\n", status, StringComparison.Ordinal);
                Assert.False(Directory.Exists($"/proc/{helper}/root/var"), "the host's /var is visible to the sandboxed slirp4netns");
            }
        }
        finally
        {
            if (rootlesskit is { HasExited: false })
            {
                // Ours by PID: rootlesskit kills its slirp4netns and the child on SIGTERM... and on kill its helpers die with the namespace.
                rootlesskit.Kill(entireProcessTree: true);
                await rootlesskit.WaitForExitAsync(CancellationToken.None);
            }

            rootlesskit?.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The pid of a process running <paramref name="apphost"/> as slirp4netns below
    /// <paramref name="ancestor"/>: other tests run netdevd as slirp4netns at the same time (podman's,
    /// this theory's other case), as root, and the first such process in /proc was once theirs.
    /// </summary>
    private static int? FindHelper(string apphost, int ancestor)
    {
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out var pid))
            {
                continue;
            }

            try
            {
                var exe = new FileInfo($"{proc}/exe").LinkTarget;
                var argv = File.ReadAllText($"{proc}/cmdline").Split('\0');
                // By the symlink's name, or (re-executed into its sandbox) "netdevd slirp4netns".
                if (exe == apphost && (Path.GetFileName(argv[0]) == "slirp4netns" || (argv.Length > 1 && argv[1] == "slirp4netns"))
                    && Descends(pid, ancestor))
                {
                    return pid;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="pid"/>'s chain of parents reaches <paramref name="ancestor"/>.</summary>
    private static bool Descends(int pid, int ancestor)
    {
        for (var depth = 0; pid > 1 && depth < 64; depth++)
        {
            if (pid == ancestor)
            {
                return true;
            }

            // "PID (COMM) STATE PPID ...": the command may hold spaces and parentheses, so read after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            pid = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        }

        return false;
    }
}
