using System.Diagnostics;
using System.Globalization;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// netdevd as pasta with the command line rootlesskit 2 passes (no such client on Debian 12, so
/// the command line itself), for a namespace of the test's own; and podman 4.4's line, whose
/// link-local DNS and guest addresses netdevd refuses by name.
/// </summary>
public sealed class PastaTests
{
    [Fact]
    public async Task Rootlesskit_command_line_addresses_the_namespace_serves_it_and_leaves_with_it()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        await ns.CheckAsync("ip", "tuntap", "add", "tap0", "mode", "tap");
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        using var child = Process.Start("ip", ["netns", "exec", ns.Name, "sleep", "600"]);
        var dir = HostTools.TempDir();
        try
        {
            var pasta = Path.Combine(dir, "pasta");
            File.CreateSymbolicLink(pasta, Path.Combine(AppContext.BaseDirectory, "netdevd"));
            var pidFile = Path.Combine(dir, "pasta.pid");
            var (code, _, stderr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(90), pasta,
                "--stderr", "--ns-ifname=tap0", "--mtu=65520", "--config-net", "--address=10.0.2.100", "--netmask=24", "--gateway=10.0.2.2",
                "--dns-forward=10.0.2.3", "--tcp-ports=none", "--udp-ports=none", "--ipv4-only", "--pid", pidFile,
                child.Id.ToString(CultureInfo.InvariantCulture));
            // The first process returns once the namespace is served; the daemon lives on.
            Assert.True(code == 0, stderr);
            var daemon = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
            Assert.True(Directory.Exists($"/proc/{daemon}"));

            Assert.Contains("inet 10.0.2.100/24", await ns.CheckAsync("ip", "-o", "-4", "addr", "show", "tap0"), StringComparison.Ordinal);
            Assert.Contains("mtu 65520", await ns.CheckAsync("ip", "-o", "link", "show", "tap0"), StringComparison.Ordinal);
            Assert.Contains("default via 10.0.2.2", await ns.CheckAsync("ip", "route"), StringComparison.Ordinal);
            Assert.Equal("from-host", (await ns.RunAsync("curl", "-s", "--max-time", "20", $"http://10.0.2.2:{hostServer.Port}/")).Stdout);

            // The namespace's process gone: pasta leaves too.
            child.Kill();
            await child.WaitForExitAsync(CancellationToken.None);
            var gone = false;
            for (var i = 0; i < 100 && !gone; i++)
            {
                gone = !Directory.Exists($"/proc/{daemon}");
                if (!gone)
                {
                    await Task.Delay(100);
                }
            }

            Assert.True(gone, "pasta still runs after its namespace's process ended");
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Podman_command_line_is_refused_by_name_not_half_served()
    {
        TapTestKit.RequireRoot();
        await using var ns = await TestNamespace.CreateAsync();
        var dir = HostTools.TempDir();
        try
        {
            var pasta = Path.Combine(dir, "pasta");
            File.CreateSymbolicLink(pasta, Path.Combine(AppContext.BaseDirectory, "netdevd"));
            var (code, _, stderr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), pasta,
                "--config-net", "-t", "8080", "--dns-forward", "169.254.1.1", "--no-map-gw", "--quiet", "--netns", ns.Path, "--map-guest-addr", "169.254.1.2");
            Assert.Equal(1, code);
            Assert.Equal("pasta: --map-guest-addr is not supported by netdevd's pasta personality\n", stderr);
            Assert.DoesNotContain("tap0", await ns.CheckAsync("ip", "-o", "link"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
