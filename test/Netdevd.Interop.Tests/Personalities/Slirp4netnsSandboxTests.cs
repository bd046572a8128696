using System.Text.RegularExpressions;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// slirp4netns's --enable-sandbox and --enable-seccomp, as podman passes them: the serving
/// process (the PID podman started) is confined the way slirp4netns's own test checks it
/// (tests/test-slirp4netns-sandbox.sh), seen from outside through /proc, and still serves.
/// </summary>
public sealed class Slirp4netnsSandboxTests
{
    [Fact]
    public async Task Sandbox_and_seccomp_confine_the_serving_process_and_the_network_still_works()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        var dir = HostTools.TempDir();
        var api = Path.Combine(dir, "api.sock");
        var outside = Path.Combine(dir, "outside-the-sandbox");
        await File.WriteAllTextAsync(outside, "secret", TestContext.Current.CancellationToken);
        await using var slirp = Slirp4netnsProcess.Start("--disable-host-loopback", "--mtu=65520", "--enable-sandbox", "--enable-seccomp", "--enable-ipv6", "-c", "--api-socket", api, "--netns-type=path", ns.Path, "tap0");
        await slirp.WaitReadyAsync();

        // The process the caller started: seccomp filter mode on all its threads, no new
        // privileges, and of the capabilities only CAP_NET_BIND_SERVICE (bit 10), as slirp4netns.
        var status = await File.ReadAllTextAsync($"/proc/{slirp.Pid}/status", TestContext.Current.CancellationToken);
        Assert.Matches(new Regex(@"^Seccomp:\s+2$", RegexOptions.Multiline), status);
        Assert.Matches(new Regex(@"^NoNewPrivs:\s+1$", RegexOptions.Multiline), status);
        Assert.Matches(new Regex(@"^CapEff:\s+0000000000000400$", RegexOptions.Multiline), status);
        Assert.Matches(new Regex(@"^CapBnd:\s+0000000000000400$", RegexOptions.Multiline), status);
        foreach (var task in Directory.GetDirectories($"/proc/{slirp.Pid}/task"))
        {
            var thread = await File.ReadAllTextAsync(Path.Combine(task, "status"), TestContext.Current.CancellationToken);
            Assert.Matches(new Regex(@"^Seccomp:\s+2$", RegexOptions.Multiline), thread);
            Assert.Matches(new Regex(@"^CapEff:\s+0000000000000400$", RegexOptions.Multiline), thread);
        }

        // Its root: /etc and /run as slirp4netns's sandbox, not the rest of the host.
        var root = $"/proc/{slirp.Pid}/root";
        Assert.True(Directory.Exists(root + "/etc") && Directory.Exists(root + "/run"));
        Assert.True(File.Exists(root + "/etc/resolv.conf"));
        foreach (var hidden in new[] { "/home", "/root", "/var", outside, api })
        {
            Assert.False(Path.Exists(root + hidden), hidden + " is visible in the sandbox");
        }

        var mounts = await File.ReadAllLinesAsync($"/proc/{slirp.Pid}/mountinfo", TestContext.Current.CancellationToken);
        Assert.Contains(mounts, m => Regex.IsMatch(m, @"^\d+ \d+ \S+ / / ro,.* - tmpfs "));
        Assert.All(mounts, m => Assert.Contains(" ro,", m.Split(" - ")[0] + ",", StringComparison.Ordinal));

        // And it serves: DNS and the gateway from the namespace, a published port through the API.
        Assert.Contains("1 received", (await ns.RunAsync("ping", "-c", "1", "-W", "10", "10.0.2.2")).Stdout, StringComparison.Ordinal);
        using var guestServer = TinyHttpServer.InNamespace(ns, "from-sandboxed-guest");
        var hostPort = HostTools.FreePort();
        var reply = await Slirp4netnsApiClient.RequestAsync(api, $"{{\"execute\":\"add_hostfwd\",\"arguments\":{{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":{hostPort},\"guest_addr\":\"\",\"guest_port\":{guestServer.Port}}}}}");
        Assert.Equal("{\"return\":{\"id\":1}}", reply);
        var (_, published, curlErr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-s", "--max-time", "20", $"http://127.0.0.1:{hostPort}/");
        Assert.True(published == "from-sandboxed-guest", curlErr + slirp.Stderr);

        Assert.Equal(0, await slirp.CloseExitFdAsync());
    }

    [Fact]
    public async Task Seccomp_alone_filters_every_thread_and_keeps_the_capabilities()
    {
        TapTestKit.RequireRoot();
        await using var ns = await TestNamespace.CreateAsync();
        await using var slirp = Slirp4netnsProcess.Start("--enable-seccomp", "-c", "--netns-type=path", ns.Path, "tap0");
        await slirp.WaitReadyAsync();
        foreach (var task in Directory.GetDirectories($"/proc/{slirp.Pid}/task"))
        {
            var thread = await File.ReadAllTextAsync(Path.Combine(task, "status"), TestContext.Current.CancellationToken);
            Assert.Matches(new Regex(@"^Seccomp:\s+2$", RegexOptions.Multiline), thread);
        }

        Assert.True(Directory.Exists($"/proc/{slirp.Pid}/root/var"), "without --enable-sandbox the file system stays");
        Assert.Contains("1 received", (await ns.RunAsync("ping", "-c", "1", "-W", "10", "10.0.2.2")).Stdout, StringComparison.Ordinal);
        Assert.Equal(0, await slirp.CloseExitFdAsync());
    }
}
