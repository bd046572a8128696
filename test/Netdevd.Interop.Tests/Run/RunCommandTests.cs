using System.Diagnostics;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Run;

/// <summary><c>netdevd run</c>: the command sees its tap up, its exit status comes back, and the tap is a netdev that hubs.</summary>
public sealed class RunCommandTests
{
    [Fact]
    public async Task Command_sees_the_tap_up_with_its_mtu()
    {
        TapTestKit.RequireRoot();
        var (code, stdout, stderr) = await NetdevdAsync("run", "--mtu", "1400", "--", "ip", "-o", "link");
        Assert.True(code == 0, stderr);
        var eth0 = stdout.Split('\n').Single(l => l.Contains(": eth0:", StringComparison.Ordinal));
        Assert.Contains("UP", eth0, StringComparison.Ordinal);
        Assert.Contains("mtu 1400", eth0, StringComparison.Ordinal);
        Assert.Contains("LOOPBACK,UP", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exit_status_of_the_command_is_netdevds()
    {
        TapTestKit.RequireRoot();
        Assert.Equal(7, (await NetdevdAsync("run", "--", "sh", "-c", "exit 7")).ExitCode);
        var missing = await NetdevdAsync("run", "--", "/nonexistent/cmd");
        Assert.Equal(127, missing.ExitCode);
        Assert.Contains("/nonexistent/cmd", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tap_of_the_namespace_hubs_with_other_netdevs()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("ping", "iputils-ping");
        await using var ns = await TestNamespace.CreateAsync();
        var dir = HostTools.TempDir();
        try
        {
            // The far tap is made by netdevd in the host namespace; its up script moves it into ours.
            var ifname = TestNamespace.InterfaceName("ndrn");
            var script = Path.Combine(dir, "up");
            await File.WriteAllTextAsync(script, $"#!/bin/sh\nset -e\nip link set \"$1\" netns {ns.Name}\nip -n {ns.Name} addr add 10.203.0.2/24 dev \"$1\"\nip -n {ns.Name} link set \"$1\" up\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            var (code, stdout, stderr) = await NetdevdAsync(
                "run",
                "--netdev", $"tap,id=t1,ifname={ifname},script={script},downscript=no",
                "--netdev", "hubport,id=p0,hubid=0,netdev=run0",
                "--netdev", "hubport,id=p1,hubid=0,netdev=t1",
                "--", "sh", "-c", "ip addr add 10.203.0.1/24 dev eth0 && ping -c 2 -w 20 10.203.0.2");
            Assert.True(code == 0, $"exit {code}: {stderr}{stdout}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Joins_an_existing_namespace()
    {
        TapTestKit.RequireRoot();
        await using var ns = await TestNamespace.CreateAsync();
        var (code, _, stderr) = await NetdevdAsync("run", "--netns", ns.Path, "--ifname", "ndjoin0", "--", "true");
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task Bad_netdev_is_reported_as_on_the_command_line()
    {
        TapTestKit.RequireRoot();
        var (code, _, stderr) = await NetdevdAsync("run", "--netdev", "tap,id=t1,fd=3,ifname=x", "--", "sleep", "30");
        Assert.Equal(1, code);
        Assert.Contains("-netdev tap,id=t1,fd=3,ifname=x: ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with fd=", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> NetdevdAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
        return await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(90), "dotnet", [dll, .. args]);
    }
}
