using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Run;

/// <summary><c>netdevd run -- CMD</c> with no <c>--netdev</c>: the namespace is on a user-mode NAT network, like pasta.</summary>
public sealed class RunUserNetTests
{
    [Fact]
    public async Task Command_gets_dhcp_and_pings_the_gateway_on_one_frame_thread_and_its_status_comes_back()
    {
        TapTestKit.RequireRoot();
        var busybox = HostTools.Require("busybox", "busybox-static");
        var dir = HostTools.TempDir();
        try
        {
            var script = await UdhcpcScriptAsync(dir, busybox);

            // 42 only when every step worked: it tells the command's own status from netdevd's.
            var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
            using var run = Netdevd.Interop.Tests.Guest.CapturedProcess.Start("dotnet", [dll, "run", "--", "sh", "-c",
                $"{busybox} udhcpc -i eth0 -n -q -t 5 -T 2 -s {script} && {busybox} ping -c 1 -W 5 10.0.2.2 && echo traffic-done && sleep 3 && exit 42"]);
            Assert.True(await run.WaitForAsync("traffic-done", TimeSpan.FromSeconds(60)), run.Output);

            // As pasta serves a namespace: the tap and the user netdev (its host sockets too) share one poll thread.
            Personalities.FrameThreads.AssertOne(run.Pid);

            Assert.True(run.WaitForExit(TimeSpan.FromSeconds(60)), run.Output);
            Assert.True(run.ExitCode == 42, $"exit {run.ExitCode}\n{run.Output}");
            Assert.Contains("bound=10.0.2.15", run.Output, StringComparison.Ordinal);
            Assert.Contains("1 packets received", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Without_privileges_the_command_runs_in_a_user_namespace_and_still_gets_its_network()
    {
        // Needs root only to become the unprivileged user nobody (setpriv); netdevd itself then
        // has no privilege at all and must make a user namespace to own the network namespace and the tap.
        TapTestKit.RequireRoot();
        var setpriv = HostTools.Find("setpriv") ?? throw new InvalidOperationException("setpriv (util-linux) is missing");
        var busybox = HostTools.Require("busybox", "busybox-static");
        var dir = HostTools.TempDir();
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var home = Directory.CreateDirectory(Path.Combine(dir, "home")).FullName;
        using (var chown = System.Diagnostics.Process.Start("chown", ["65534:65534", home]))
        {
            await chown.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, chown.ExitCode);
        }

        var script = await UdhcpcScriptAsync(dir, busybox);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        var dll = Path.Combine(AppContext.BaseDirectory, "netdevd.dll");
        var (code, stdout, stderr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(90), setpriv,
            "--reuid=65534", "--regid=65534", "--clear-groups", "env", $"HOME={home}", $"DOTNET_CLI_HOME={home}",
            "dotnet", dll, "run", "--", "sh", "-c",
            $"echo uidmap=$(cat /proc/self/uid_map) && {busybox} udhcpc -i eth0 -n -q -t 5 -T 2 -s {script} && {busybox} ping -c 1 -W 5 10.0.2.2 && exit 42");
        Assert.True(code == 42, $"exit {code}\n{stdout}{stderr}");

        // Root inside is nobody outside: the user namespace maps uid 0 to 65534 and nothing else.
        Assert.Matches(@"uidmap=\s*0\s+65534\s+1\b", stdout);
        Assert.Contains("bound=10.0.2.15", stdout, StringComparison.Ordinal);
        Assert.Contains("1 packets received", stdout, StringComparison.Ordinal);
    }

    /// <summary>A udhcpc script that puts the lease on the interface and the default route, and prints bound=ADDRESS.</summary>
    private static async Task<string> UdhcpcScriptAsync(string dir, string busybox)
    {
        var script = Path.Combine(dir, "udhcpc.sh");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\n[ \"$1\" = bound ] && {busybox} ip addr add $ip/$mask dev $interface && {busybox} ip route add default via $router && echo bound=$ip\nexit 0\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }
}
