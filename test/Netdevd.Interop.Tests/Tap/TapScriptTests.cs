using Netdevd.Backends.Tap;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.Tap;

/// <summary>script=/downscript= run with the interface name; a failing script undoes the netdev; QEMU's texts.</summary>
public sealed class TapScriptTests
{
    [Fact]
    public async Task Scripts_run_with_the_interface_name_from_a_template()
    {
        RequireRoot();
        var dir = Harness.HostTools.TempDir();
        try
        {
            var log = Path.Combine(dir, "log");
            var up = WriteScript(dir, "up", $"echo \"up $1 $#\" >> {log}");
            var down = WriteScript(dir, "down", $"echo \"down $1 $#\" >> {log}");
            await using var registry = NewRegistry();
            var tap = (TapNetClient)await registry.AddAsync(TapNetdev("t0", new NetdevTapOptions { Ifname = "ndsc%d", Script = up, Downscript = down }), NetdevOrigin.Monitor, cancellationToken: Ct);
            try
            {
                Assert.Matches("^ndsc[0-9]+$", tap.IfName);
                Assert.Equal($"up {tap.IfName} 1\n", await File.ReadAllTextAsync(log, Ct));
                Assert.Equal($"ifname={tap.IfName},script={up},downscript={down}", tap.Info);
            }
            finally
            {
                await registry.DeleteAsync("t0", Ct);
            }

            Assert.Equal($"up {tap.IfName} 1\ndown {tap.IfName} 1\n", await File.ReadAllTextAsync(log, Ct));
            Assert.NotEqual(0, (await HostCommand.RunAsync("ip", "link", "show", tap.IfName)).ExitCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Failing_script_is_an_error_with_the_raw_wait_status_and_leaves_nothing()
    {
        RequireRoot();
        var dir = Harness.HostTools.TempDir();
        try
        {
            var ifname = TestNamespace.InterfaceName("ndsf");
            var up = WriteScript(dir, "up", "exit 3");
            await using var registry = NewRegistry();
            var e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(TapNetdev("t0", new NetdevTapOptions { Ifname = ifname, Script = up, Downscript = "no" }), NetdevOrigin.Monitor, cancellationToken: Ct));
            Assert.Equal($"network script {up} failed with status 768", e.Message);
            Assert.Empty(registry.Snapshot());
            Assert.NotEqual(0, (await HostCommand.RunAsync("ip", "link", "show", ifname)).ExitCode);

            var missing = Path.Combine(dir, "missing");
            e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(TapNetdev("t0", new NetdevTapOptions { Ifname = ifname, Script = missing }), NetdevOrigin.Monitor, cancellationToken: Ct));
            Assert.Equal($"network script {missing} failed with status 256", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Bad_interface_name_gives_the_device_the_name_and_the_system_message()
    {
        RequireRoot();
        await using var registry = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(TapNetdev("t0", new NetdevTapOptions { Ifname = "bad/name", Script = "no" }), NetdevOrigin.Monitor, cancellationToken: Ct));
        Assert.Equal("could not configure /dev/net/tun (bad/name): Invalid argument", e.Message);
    }

    [Fact]
    public async Task Inherited_descriptor_is_a_tap_with_its_fd_in_the_info()
    {
        RequireRoot();
        var vnet = true;
        var ifname = TestNamespace.InterfaceName("ndfd");
        var fd = TapDevice.Open(ifname, ref vnet, vnetHdrRequired: false, multiQueue: false, out _);
        await using var registry = NewRegistry();
        Netdevd.Backends.Sockets.GrantedDescriptors.Grant(fd);
        var fdText = fd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var tap = (TapNetClient)await registry.AddAsync(TapNetdev("t0", new NetdevTapOptions { Fd = fdText }), NetdevOrigin.Monitor, cancellationToken: Ct);
        Assert.Equal($"fd={fd}", tap.Info);
        Assert.True(tap.HasVnetHeader);
        Assert.Equal(ifname, tap.IfName);
    }

    private static string WriteScript(string dir, string name, string body)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, $"#!/bin/sh\n{body}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
