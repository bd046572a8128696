namespace Netdevd.Daemon.Tests;

/// <summary>netdevd as a user runs it: options, help, version and QEMU-style error lines.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var (code, stdout, _) = await DaemonProcess.RunAsync("--version");

        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout.Trim());
    }

    [Fact]
    public async Task Help_describes_the_options()
    {
        var (code, stdout, _) = await DaemonProcess.RunAsync("--help");

        Assert.Equal(0, code);
        Assert.Contains("-netdev <SPEC>", stdout, StringComparison.Ordinal);
        Assert.Contains("-qmp <CHARDEV>", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Netdev_help_lists_the_types_this_build_provides()
    {
        var (code, stdout, _) = await DaemonProcess.RunAsync("--netdev", "help");

        Assert.Equal(0, code);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Available netdev backend types:", lines[0]);
        Assert.Contains("hubport", lines);
        Assert.DoesNotContain("nic", lines);

        // What a Linux QEMU with libxdp lists, in QEMU's order (QEMU 10's list without af-xdp is
        // the same): vhost-vdpa and af-xdp, but neither netmap (no netmap in Debian's kernels)
        // nor the macOS-only vmnet types. (vhost-user is another issue's; it may not be there yet.)
        Assert.Equal(
            ["socket", "stream", "dgram", "hubport", "tap", "user", "l2tpv3", "vde", "bridge", "vhost-vdpa", "af-xdp"],
            lines.Skip(1).Where(l => l != "vhost-user"));
    }

    [Theory]
    [InlineData("bogus,id=x", "Parameter 'type' does not accept value 'bogus'")]
    [InlineData("hubport,id=a", "Parameter 'hubid' is missing")]
    [InlineData("hubport,id=a,hubid=0,foo=1", "Invalid parameter 'foo'")]
    [InlineData("nic,id=n", "network backend 'nic' is not compiled into this binary")]
    [InlineData("netmap,id=n,ifname=vale0:1", "network backend 'netmap' is not compiled into this binary")]
    [InlineData("vmnet-host,id=v", "Parameter 'type' does not accept value 'vmnet-host'")]
    [InlineData("vmnet-bridged,id=v,ifname=eth0", "Parameter 'type' does not accept value 'vmnet-bridged'")]
    [InlineData("vhost-vdpa,id=v", "vhost-vdpa: neither vhostdev= nor vhostfd= was specified")]
    [InlineData("vhost-vdpa,id=v,vhostdev=/nonexistent/vhost-vdpa-0", "Could not open '/nonexistent/vhost-vdpa-0': No such file or directory")]
    [InlineData("af-xdp,id=x,ifname=nd-nosuch0", "failed to get ifindex for 'nd-nosuch0': No such device")]
    [InlineData("af-xdp,id=x,ifname=lo,queues=0", "invalid number of queues (0) for 'lo'")]
    [InlineData("af-xdp,id=x,ifname=lo,inhibit=on", "'inhibit=on' requires 'sock-fds' and vice versa")]
    [InlineData("{\"type\":\"hubport\",\"id\":\"j\",\"hubid\":\"0\"}", "Invalid parameter type for 'hubid', expected: integer")]
    public async Task A_bad_netdev_prints_QEMUs_line_and_exits_1(string spec, string message)
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var (code, _, stderr) = await DaemonProcess.RunAsync("-netdev", spec, "--qmp", $"unix:{dir}/q.sock,server=on,wait=off");

            Assert.Equal(1, code);
            Assert.Equal($"netdevd: -netdev {spec}: {message}", stderr.Split('\n')[0].TrimEnd('\r'));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_guestfwd_device_that_cannot_be_opened_prints_QEMUs_two_lines()
    {
        const string spec = "user,id=u,guestfwd=tcp:10.0.2.100:7000-tcp:127.0.0.1:1";
        var (code, _, stderr) = await DaemonProcess.RunAsync("-netdev", spec);

        Assert.Equal(1, code);
        var lines = stderr.Split('\n');
        Assert.Equal($"netdevd: -netdev {spec}: Failed to connect to '127.0.0.1:1': Connection refused", lines[0].TrimEnd('\r'));
        Assert.Equal($"netdevd: -netdev {spec}: Could not open guest forwarding device 'guestfwd.tcp.7000'", lines[1].TrimEnd('\r'));
    }

    [Fact]
    public async Task A_bad_identifier_also_prints_QEMUs_hint()
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("-netdev", "hubport,id=1a,hubid=0");

        Assert.Equal(1, code);
        var lines = stderr.Split('\n');
        Assert.Equal("netdevd: -netdev hubport,id=1a,hubid=0: Parameter 'id' expects an identifier", lines[0].TrimEnd('\r'));
        Assert.Equal("Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.", lines[1].TrimEnd('\r'));
    }

    [Fact]
    public async Task A_bad_monitor_spec_is_refused_before_anything_starts()
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("--qmp", "bogus:x", "-netdev", "hubport,id=h,hubid=0");

        Assert.Equal(1, code);
        Assert.StartsWith("netdevd: -qmp bogus:x: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_later_netdev_reports_the_one_that_failed()
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            var (code, _, stderr) = await DaemonProcess.RunAsync(
                "--qmp", $"unix:{dir}/q.sock,server=on,wait=off",
                "--netdev", "hubport,id=a,hubid=0",
                "--netdev", "hubport,id=a,hubid=1");

            Assert.Equal(1, code);
            Assert.Equal("netdevd: -netdev hubport,id=a,hubid=1: Duplicate ID 'a' for netdev", stderr.Split('\n')[0].TrimEnd('\r'));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
