using System.Diagnostics;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// podman 4.3 (Debian 12) running containers with netdevd as its slirp4netns
/// (<c>network_cmd_path</c>), nothing else changed: podman probes the help, passes its own
/// command line, waits on the ready pipe, publishes ports through the API socket and ends the
/// helper through the exit pipe. Storage, configuration and image are the test's own.
/// </summary>
public sealed class PodmanTests
{
    [Fact]
    public async Task Container_gets_its_address_reaches_host_loopback_and_publishes_a_port()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("podman", "podman");
        HostTools.Require("runc", "runc");
        var curl = HostTools.Require("curl", "curl");
        var busybox = StaticBusybox.Require();
        var dir = HostTools.TempDir();
        try
        {
            var podman = await PodmanRig.CreateAsync(dir, busybox);
            using var hostServer = TinyHttpServer.OnLoopback("from-host");

            // allow_host_loopback=true: the container reaches the host's 127.0.0.1 at 10.0.2.2.
            var (code, stdout, stderr) = await podman.RunAsync(
                "run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", "localhost/bb",
                "sh", "-c", $"ip -4 -o addr show tap0; ip route; wget -q -O - http://10.0.2.2:{hostServer.Port}/");
            Assert.True(code == 0, $"podman run: {stderr}");
            Assert.Contains("inet 10.0.2.100/24", stdout, StringComparison.Ordinal);
            Assert.Contains("default via 10.0.2.2", stdout, StringComparison.Ordinal);
            Assert.EndsWith("from-host", stdout.TrimEnd(), StringComparison.Ordinal);

            // Without it (podman's default --disable-host-loopback) the host's loopback stays closed.
            var closed = await podman.RunAsync("run", "--rm", "--network", "slirp4netns", "localhost/bb",
                "sh", "-c", $"wget -q -T 5 -O - http://10.0.2.2:{hostServer.Port}/ || echo refused");
            Assert.True(closed.ExitCode == 0, closed.Stderr);
            Assert.Contains("refused", closed.Stdout, StringComparison.Ordinal);

            // -p with port_handler=slirp4netns: podman asks the helper's API socket for the forward.
            var port = HostTools.FreePort();
            var name = $"nd-pm-{Environment.ProcessId}-{Random.Shared.Next(10000)}";
            using var server = Process.Start(podman.StartInfo(
                "run", "--rm", "--name", name, "--network", "slirp4netns:port_handler=slirp4netns", "-p", $"127.0.0.1:{port}:80", "localhost/bb",
                "sh", "-c", "httpd -f -p 80 -h /www"))!;
            try
            {
                string published = string.Empty;
                for (var i = 0; i < 120 && published != "hello-from-container"; i++)
                {
                    published = (await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(30), curl, "-s", "--max-time", "5", $"http://127.0.0.1:{port}/index.html")).Stdout.Trim();
                    if (published != "hello-from-container")
                    {
                        await Task.Delay(500);
                    }
                }

                Assert.Equal("hello-from-container", published);

                // podman found --enable-sandbox and --enable-seccomp in the help and passed them:
                // the helper it runs serves confined (the sandbox tests check the details).
                var helper = PodmansConfinedHelper();
                Assert.True(helper is not null, "no slirp4netns started by podman with --enable-sandbox --enable-seccomp");
                Assert.Contains("\nSeccomp:\t2\n", await File.ReadAllTextAsync($"/proc/{helper}/status"), StringComparison.Ordinal);
                Assert.False(Directory.Exists($"/proc/{helper}/root/var"), "the host's /var is visible to podman's slirp4netns");
            }
            finally
            {
                await podman.RunAsync("kill", name);
                await server.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
            }
        }
        finally
        {
            await PodmanRig.CleanAsync(dir);
        }
    }

    /// <summary>
    /// The netdevd podman started as its slirp4netns (podman's "-e 3 -r 4" order; the tests of
    /// this project start theirs with "-r 3 -e 4") with both confinement options, or null.
    /// </summary>
    private static int? PodmansConfinedHelper()
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            string[] args;
            try
            {
                args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            var e3 = Array.IndexOf(args, "-e");
            if (args.Contains("slirp4netns") && args.Contains("--enable-sandbox") && args.Contains("--enable-seccomp")
                && e3 >= 0 && e3 + 3 < args.Length && args[e3 + 1] == "3" && args[e3 + 2] == "-r")
            {
                return int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
