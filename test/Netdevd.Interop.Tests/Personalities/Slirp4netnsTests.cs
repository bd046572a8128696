using System.Net;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// netdevd as slirp4netns, with the command lines podman 4.3 and rootlesskit 1.1 pass
/// (/work/shared/reference/clients.md), against a namespace of the test's own.
/// </summary>
public sealed class Slirp4netnsTests
{
    [Fact]
    public async Task Help_lists_what_rootlesskit_and_podman_probe_for_and_version_answers()
    {
        var dir = HostTools.TempDir();
        try
        {
            var link = Slirp4netnsProcess.Symlink(dir);
            var (code, help, _) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), link, "--help");
            Assert.Equal(0, code);
            Assert.StartsWith("Usage: slirp4netns [OPTION]... PID|PATH [TAPNAME]", help, StringComparison.Ordinal);
            foreach (var option in new[] { "--netns-type", "--userns-path", "--disable-host-loopback", "--mtu", "--cidr", "--enable-ipv6", "--api-socket", "--exit-fd", "--ready-fd", "--configure", "--enable-sandbox", "--enable-seccomp" })
            {
                Assert.Contains(option, help, StringComparison.Ordinal);
            }

            // What netdevd does not do is not offered, so the callers do not pass it.
            Assert.DoesNotContain("--outbound-addr", help, StringComparison.Ordinal);
            var version = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), link, "--version");
            Assert.Equal(0, version.ExitCode);
            Assert.StartsWith("slirp4netns version ", version.Stdout, StringComparison.Ordinal);

            // And refused by name when passed anyway, never ignored.
            var refused = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), link, "--outbound-addr=127.0.0.1", "1", "tap0");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("--outbound-addr is not supported", refused.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Podman_command_line_configures_the_namespace_reaches_the_host_and_publishes_a_port()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        var api = Path.Combine(HostTools.TempDir(), "api.sock");
        await using var slirp = Slirp4netnsProcess.Start("--mtu=65520", "-c", "--api-socket", api, "--netns-type=path", ns.Path, "tap0");
        await slirp.WaitReadyAsync();

        var addresses = await ns.CheckAsync("ip", "-o", "-4", "addr", "show", "tap0");
        Assert.Contains("inet 10.0.2.100/24", addresses, StringComparison.Ordinal);
        Assert.Contains("mtu 65520", await ns.CheckAsync("ip", "-o", "link", "show", "tap0"), StringComparison.Ordinal);
        Assert.Contains("default via 10.0.2.2 dev tap0", await ns.CheckAsync("ip", "route"), StringComparison.Ordinal);

        // allow_host_loopback: the host's 127.0.0.1 at 10.0.2.2.
        var fetched = await ns.RunAsync("curl", "-s", "--max-time", "20", $"http://10.0.2.2:{hostServer.Port}/");
        Assert.Equal("from-host", fetched.Stdout);
        FrameThreads.AssertOne(slirp.Pid);

        // port_handler=slirp4netns: podman's add_hostfwd with an empty guest_addr.
        using var guestServer = TinyHttpServer.InNamespace(ns, "from-guest");
        var hostPort = HostTools.FreePort();
        var reply = await Slirp4netnsApiClient.RequestAsync(api, $"{{\"execute\":\"add_hostfwd\",\"arguments\":{{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":{hostPort},\"guest_addr\":\"\",\"guest_port\":{guestServer.Port}}}}}");
        Assert.Equal("{\"return\":{\"id\":1}}", reply);
        var (_, published, curlErr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-s", "--max-time", "20", $"http://127.0.0.1:{hostPort}/");
        Assert.True(published == "from-guest", curlErr + slirp.Stderr);
        Assert.Equal(
            $"{{\"entries\":[{{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":{hostPort},\"guest_addr\":\"10.0.2.100\",\"guest_port\":{guestServer.Port}}}]}}",
            await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"list_hostfwd\"}"));
        Assert.Equal("{\"return\":{}}", await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}"));
        Assert.Equal("{\"error\":{\"desc\":\"bad request: remove_hostfwd: bad arguments.id\"}}", await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}"));
        using (var refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await Assert.ThrowsAsync<SocketException>(async () => await refused.ConnectAsync(IPAddress.Loopback, hostPort));
        }

        // conmon closes the exit pipe: slirp4netns leaves, with status 0, and removes its socket.
        Assert.Equal(0, await slirp.CloseExitFdAsync());
        Assert.False(File.Exists(api));
    }

    [Fact]
    public async Task Disable_host_loopback_keeps_the_container_from_the_hosts_loopback()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        await using var slirp = Slirp4netnsProcess.Start("--disable-host-loopback", "-c", "--netns-type=path", ns.Path, "tap0");
        await slirp.WaitReadyAsync();
        Assert.Contains("1 received", (await ns.RunAsync("ping", "-c", "1", "-W", "10", "10.0.2.2")).Stdout, StringComparison.Ordinal);
        var fetched = await ns.RunAsync("curl", "-s", "--max-time", "10", $"http://10.0.2.2:{hostServer.Port}/");
        Assert.NotEqual(0, fetched.ExitCode);
        Assert.NotEqual("from-host", fetched.Stdout);
    }

    [Fact]
    public async Task Rootlesskit_command_line_serves_the_tap_it_made_by_pid_with_a_cidr()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        // rootlesskit's child: a process in the namespace; rootlesskit made tap0 and addresses it itself.
        await ns.CheckAsync("ip", "tuntap", "add", "tap0", "mode", "tap");
        await ns.CheckAsync("ip", "addr", "add", "10.11.12.100/24", "dev", "tap0");
        await ns.CheckAsync("ip", "link", "set", "tap0", "up");
        await ns.CheckAsync("ip", "route", "add", "default", "via", "10.11.12.2");
        using var child = System.Diagnostics.Process.Start("ip", ["netns", "exec", ns.Name, "sleep", "600"]);
        try
        {
            var childPid = await WaitForChildPidAsync(child.Id);
            var api = Path.Combine(HostTools.TempDir(), "s4nn.sock");
            await using var slirp = Slirp4netnsProcess.Start("--mtu", "65520", "--cidr=10.11.12.0/24", "--api-socket", api, childPid.ToString(System.Globalization.CultureInfo.InvariantCulture), "tap0");
            await slirp.WaitReadyAsync();

            using var guestServer = TinyHttpServer.InNamespace(ns, "rootlesskit-guest", "10.11.12.100");
            var hostPort = HostTools.FreePort();
            Assert.Equal("{\"return\":{\"id\":1}}", await Slirp4netnsApiClient.RequestAsync(api, $"{{\"execute\":\"add_hostfwd\",\"arguments\":{{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":{hostPort},\"guest_addr\":\"10.11.12.100\",\"guest_port\":{guestServer.Port}}}}}"));
            var (_, published, err) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-s", "--max-time", "20", $"http://127.0.0.1:{hostPort}/");
            Assert.True(published == "rootlesskit-guest", err + slirp.Stderr);
            Assert.Contains("1 received", (await ns.RunAsync("ping", "-c", "1", "-W", "10", "10.11.12.2")).Stdout, StringComparison.Ordinal);
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Api_refuses_bad_requests_with_slirp4netns_texts()
    {
        TapTestKit.RequireRoot();
        await using var ns = await TestNamespace.CreateAsync();
        var api = Path.Combine(HostTools.TempDir(), "api.sock");
        await using var slirp = Slirp4netnsProcess.Start("--api-socket", api, "--netns-type=path", ns.Path, "tap0");
        await slirp.WaitReadyAsync();
        string Err(string desc) => $"{{\"error\":{{\"desc\":\"bad request: {desc}\"}}}}";
        Assert.Equal(Err("cannot parse JSON"), await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":"));
        Assert.Equal(Err("json_object() failed"), await Slirp4netnsApiClient.RequestAsync(api, "[1,2]"));
        Assert.Equal(Err("no execute found"), await Slirp4netnsApiClient.RequestAsync(api, "{}"));
        Assert.Equal(Err("unknown execute"), await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"quit\"}"));
        Assert.Equal(Err("add_hostfwd: bad arguments.proto"), await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"sctp\"}}"));
        Assert.Equal(Err("add_hostfwd: bad arguments.host_addr"), await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":1}}"));
        Assert.Equal(Err("add_hostfwd: bad arguments.host_port"), await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_port\":\"80\"}}"));
        Assert.Equal(Err("add_hostfwd: bad arguments.guest_port"), await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"udp\",\"host_port\":5000,\"guest_port\":70000}}"));
        Assert.Equal(Err("too large message"), await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"" + new string('x', 5000) + "\"}"));

        // A port already bound by someone else: slirp4netns's failure text, and the API lives on.
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        Assert.Equal(Err("add_hostfwd: slirp_add_hostfwd failed"), await Slirp4netnsApiClient.RequestAsync(api, $"{{\"execute\":\"add_hostfwd\",\"arguments\":{{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":{port},\"guest_port\":80}}}}"));
        Assert.Equal("{\"entries\":[]}", await Slirp4netnsApiClient.RequestAsync(api, "{\"execute\":\"list_hostfwd\"}"));
    }

    /// <summary>The pid of `sleep` under `ip netns exec` (ip execs it, so it is the same process).</summary>
    private static async Task<int> WaitForChildPidAsync(int pid)
    {
        for (var i = 0; i < 200; i++)
        {
            var comm = await File.ReadAllTextAsync($"/proc/{pid}/comm");
            if (comm.Trim() == "sleep")
            {
                return pid;
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException("the namespace's child never started");
    }
}
