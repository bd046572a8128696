using System.Diagnostics;
using System.Globalization;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// netdevd as pasta with the command line rootlesskit 2 passes (no such client on Debian 12, so
/// the command line itself), for a namespace of the test's own; and podman 4.4's line, with its
/// link-local DNS and host addresses and namespace-side port forwards.
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
            FrameThreads.AssertOne(daemon);

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
    public async Task A_tcp_forward_takes_host_loopback_clients_to_the_namespaces_loopback_and_others_to_its_address()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        var servers = new List<TinyHttpServer>();
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            var pasta = Path.Combine(dir, "pasta");
            File.CreateSymbolicLink(pasta, Path.Combine(AppContext.BaseDirectory, "netdevd"));
            var pidFile = Path.Combine(dir, "pasta.pid");
            var published = HostTools.FreePort();
            var publishedAddressOnly = HostTools.FreePort();
            var (code, _, stderr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(90), pasta,
                "--config-net", "-t", $"{published}:18570", "-t", $"{publishedAddressOnly}:18571", "-u", "none", "-T", "none", "-U", "none",
                "--ipv4-only", "--quiet", "--netns", ns.Path, "--pid", pidFile);
            Assert.True(code == 0, stderr);
            daemon = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);

            // One port, two servers: the namespace's loopback and its address (set by --config-net) each have their own.
            servers.Add(TinyHttpServer.InNamespace(ns, "ns-loopback", "127.0.0.1", 18570));
            servers.Add(TinyHttpServer.InNamespace(ns, "ns-address", "10.0.2.15", 18570));
            servers.Add(TinyHttpServer.InNamespace(ns, "address-only", "10.0.2.15", 18571));

            // As pasta: a client on the host's loopback is spliced to the namespace's loopback.
            var (_, body, curlErr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-s", "--max-time", "20", $"http://127.0.0.1:{published}/");
            Assert.True(body == "ns-loopback", $"{body} {curlErr}");

            // Nothing on the namespace's loopback at that port: through the tap to its address, as before.
            (_, body, curlErr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-s", "--max-time", "20", $"http://127.0.0.1:{publishedAddressOnly}/");
            Assert.True(body == "address-only", $"{body} {curlErr}");
        }
        finally
        {
            if (daemon is { } pid && Directory.Exists($"/proc/{pid}"))
            {
                Process.GetProcessById(pid).Kill();
            }

            foreach (var server in servers)
            {
                server.Dispose();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Podman_command_line_serves_dns_forward_the_mapped_host_address_and_namespace_ports()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("dig", "dnsutils");
        HostTools.Require("python3", "python3");
        await using var ns = await TestNamespace.CreateAsync();
        // A UDP echo on the host's loopback, for -U.
        using var echo = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var echoPort = ((System.Net.IPEndPoint)echo.Client.LocalEndPoint!).Port;
        _ = Task.Run(async () =>
        {
            var datagram = await echo.ReceiveAsync();
            byte[] reply = [.. "echo:"u8, .. datagram.Buffer];
            await echo.SendAsync(reply, reply.Length, datagram.RemoteEndPoint);
        });
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        using var hostServer6 = TinyHttpServer.OnLoopback6("from-host-v6");
        using var guestServer = TinyHttpServer.InNamespace(ns, "from-container");
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            var pasta = Path.Combine(dir, "pasta");
            File.CreateSymbolicLink(pasta, Path.Combine(AppContext.BaseDirectory, "netdevd"));
            var pidFile = Path.Combine(dir, "pasta.pid");
            var published = HostTools.FreePort();
            const int NamespacePort = 18555;
            const int NamespaceUdpPort = 18556;
            // podman 4.4+: pasta --config-net [-t|-u SPEC]... [-T|-U SPEC]... --dns-forward 169.254.1.1
            // --no-map-gw --quiet --netns PATH --map-guest-addr 169.254.1.2 [--pid FILE]
            var (code, _, stderr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(90), pasta,
                "--config-net", "-t", $"127.0.0.1/{published}:{guestServer.Port}", "-u", "none", "-T", $"{NamespacePort}:{hostServer.Port}", "-U", $"{NamespaceUdpPort}:{echoPort}",
                "--dns-forward", "169.254.1.1", "--no-map-gw", "--quiet", "--netns", ns.Path, "--map-guest-addr", "169.254.1.2", "--pid", pidFile);
            Assert.True(code == 0, stderr);
            daemon = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);

            // DNS to 169.254.1.1, outside the namespace's network, answered from the host's resolvers
            // (any answer, NXDOMAIN included, proves the forward; none would time out).
            var dig = await ns.RunAsync("dig", "+time=5", "+tries=2", "@169.254.1.1", "localhost.", "A");
            Assert.True(dig.ExitCode == 0, dig.Stdout + dig.Stderr);
            Assert.Contains("status:", dig.Stdout, StringComparison.Ordinal);

            // host.containers.internal: 169.254.1.2 is the host; --no-map-gw: the gateway is not.
            Assert.Equal("from-host", (await ns.RunAsync("curl", "-s", "--max-time", "20", $"http://169.254.1.2:{hostServer.Port}/")).Stdout);
            Assert.NotEqual("from-host", (await ns.RunAsync("curl", "-s", "--max-time", "5", $"http://10.0.2.2:{hostServer.Port}/")).Stdout);
            // Over IPv6 too (as libslirp's disable_host_loopback): the gateway does not lead to the host's ::1.
            var ipv6Curl = await ns.RunAsync("curl", "-6", "-g", "-s", "--max-time", "5", $"http://[fd00::2]:{hostServer6.Port}/");
            Assert.NotEqual("from-host-v6", ipv6Curl.Stdout);

            // -T: the namespace's loopback port leads to the host's loopback port.
            Assert.Equal("from-host", (await ns.RunAsync("curl", "-s", "--max-time", "20", $"http://127.0.0.1:{NamespacePort}/")).Stdout);

            // -U: a datagram to the namespace's loopback port reaches the host's, and the answer comes back.
            var udp = await ns.RunAsync("python3", "-c",
                $"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(20); s.sendto(b'hi', ('127.0.0.1', {NamespaceUdpPort})); print(s.recv(100).decode())");
            Assert.True(udp.Stdout.Trim() == "echo:hi", udp.Stderr);

            // -t: the host's port leads into the namespace.
            var (_, fromContainer, curlErr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-s", "--max-time", "20", $"http://127.0.0.1:{published}/");
            Assert.True(fromContainer == "from-container", curlErr);
        }
        finally
        {
            if (daemon is { } pid && Directory.Exists($"/proc/{pid}"))
            {
                Process.GetProcessById(pid).Kill();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Config_net_gives_the_namespace_ipv6_at_once_the_gateway_the_hosts_loopback_dns_and_forwards()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("dig", "dnsutils");
        HostTools.Require("ping", "iputils-ping");
        await using var ns = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback6("from-host-v6");
        var servers = new List<TinyHttpServer>();
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            var published = HostTools.FreePort();
            var publishedLoopback = HostTools.FreePort();
            const int NamespacePort = 18591;
            const int NamespaceLoopbackPort = 18592;
            (daemon, var stderr) = await StartPastaAsync(dir, "--config-net", "-t", $"{published}:{NamespacePort}", "-t", $"{publishedLoopback}:{NamespaceLoopbackPort}",
                "-u", "none", "--quiet", "--netns", ns.Path);
            Assert.True(daemon is not null, stderr);

            // As pasta with --config-net: an address and a default route when pasta returns, no waiting for router advertisements.
            Assert.Contains("inet6 fd00::15/64", await ns.CheckAsync("ip", "-o", "-6", "addr", "show", "dev", "tap0", "scope", "global"), StringComparison.Ordinal);
            Assert.Contains("default via fe80::2 dev tap0", await ns.CheckAsync("ip", "-6", "route"), StringComparison.Ordinal);

            var ping = await ns.RunAsync("ping", "-6", "-c", "1", "-W", "10", "fd00::2");
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);

            // The gateway's IPv6 address leads to the host's ::1, as 10.0.2.2 leads to 127.0.0.1.
            var curl = await ns.RunAsync("curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[fd00::2]:{hostServer.Port}/");
            Assert.True(curl.Stdout == "from-host-v6", curl.Stdout + curl.Stderr);

            // DNS over IPv6 at the network's DNS address, answered from the host's resolvers (any status proves the forward).
            var dig = await ns.RunAsync("dig", "+time=5", "+tries=2", "@fd00::3", "localhost.", "AAAA");
            Assert.True(dig.ExitCode == 0, dig.Stdout + dig.Stderr);
            Assert.Contains("status:", dig.Stdout, StringComparison.Ordinal);

            // -t for an IPv6 client: nothing on the namespace's ::1 at that port, so through the tap to its IPv6 address.
            servers.Add(TinyHttpServer.InNamespace(ns, "ns-v6-address", "fd00::15", NamespacePort));
            var (_, body, curlErr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[::1]:{published}/");
            Assert.True(body == "ns-v6-address", $"{body} {curlErr}");

            // As pasta: an IPv6 client on the host's loopback is spliced to the namespace's ::1.
            servers.Add(TinyHttpServer.InNamespace(ns, "ns-v6-loopback", "::1", NamespaceLoopbackPort));
            (_, body, curlErr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[::1]:{publishedLoopback}/");
            Assert.True(body == "ns-v6-loopback", $"{body} {curlErr}");
        }
        finally
        {
            StopPasta(daemon);
            foreach (var server in servers)
            {
                server.Dispose();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Ipv6_address_and_gateway_given_address_the_namespace_and_the_gateway_leads_to_the_hosts_loopback()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("ping", "iputils-ping");
        await using var ns = await TestNamespace.CreateAsync();
        await using var nsLinkLocal = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback6("from-host-v6");
        var dir = HostTools.TempDir();
        var dirLinkLocal = HostTools.TempDir();
        int? daemon = null, daemonLinkLocal = null;
        try
        {
            // rootlesskit's line with IPv6 on: both families' address, gateway and DNS given.
            (daemon, var stderr) = await StartPastaAsync(dir, "--stderr", "--ns-ifname=tap0", "--mtu=65520", "--config-net", "--address=10.0.2.100", "--netmask=24",
                "--gateway=10.0.2.2", "--dns-forward=10.0.2.3", "--address=2001:db8:6::100", "--gateway=2001:db8:6::2", "--dns-forward=2001:db8:6::3",
                "--tcp-ports=none", "--udp-ports=none", "--quiet", "--netns", ns.Path);
            Assert.True(daemon is not null, stderr);
            Assert.Contains("inet6 2001:db8:6::100/64", await ns.CheckAsync("ip", "-o", "-6", "addr", "show", "dev", "tap0", "scope", "global"), StringComparison.Ordinal);
            Assert.Contains("default via 2001:db8:6::2 dev tap0", await ns.CheckAsync("ip", "-6", "route"), StringComparison.Ordinal);
            Assert.Contains("inet 10.0.2.100/24", await ns.CheckAsync("ip", "-o", "-4", "addr", "show", "dev", "tap0"), StringComparison.Ordinal);

            var ping = await ns.RunAsync("ping", "-6", "-c", "1", "-W", "10", "2001:db8:6::2");
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
            var curl = await ns.RunAsync("curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[2001:db8:6::2]:{hostServer.Port}/");
            Assert.True(curl.Stdout == "from-host-v6", curl.Stdout + curl.Stderr);

            // A link-local gateway (pasta's local mode uses fe80::1), --no-map-gw, and podman's IPv6
            // host.containers.internal inside the /64 (its rootless netns: fc00::3, fc00::2).
            (daemonLinkLocal, stderr) = await StartPastaAsync(dirLinkLocal, "--config-net", "-a", "fc00::3", "-g", "fe80::1", "--no-map-gw",
                "--map-guest-addr", "169.254.1.2", "--map-guest-addr", "fc00::2", "-t", "none", "-u", "none", "--quiet", "--netns", nsLinkLocal.Path);
            Assert.True(daemonLinkLocal is not null, stderr);
            Assert.Contains("inet6 fc00::3/64", await nsLinkLocal.CheckAsync("ip", "-o", "-6", "addr", "show", "dev", "tap0", "scope", "global"), StringComparison.Ordinal);
            Assert.Contains("default via fe80::1 dev tap0", await nsLinkLocal.CheckAsync("ip", "-6", "route"), StringComparison.Ordinal);
            ping = await nsLinkLocal.RunAsync("ping", "-6", "-c", "1", "-W", "10", "fe80::1%tap0");
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
            curl = await nsLinkLocal.RunAsync("curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[fc00::2]:{hostServer.Port}/");
            Assert.True(curl.Stdout == "from-host-v6", curl.Stdout + curl.Stderr);
            // --no-map-gw: the gateway (fc00::1 in the /64, fe80::1 on the link) does not lead to the host.
            curl = await nsLinkLocal.RunAsync("curl", "-6", "-g", "-sS", "--max-time", "5", $"http://[fc00::1]:{hostServer.Port}/");
            Assert.NotEqual("from-host-v6", curl.Stdout);
        }
        finally
        {
            StopPasta(daemon);
            StopPasta(daemonLinkLocal);
            Directory.Delete(dir, recursive: true);
            Directory.Delete(dirLinkLocal, recursive: true);
        }
    }

    [Fact]
    public async Task Ipv4_only_leaves_the_namespace_without_ipv6_and_ipv6_only_without_ipv4()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("rdisc6", "ndisc6");
        HostTools.Require("dig", "dnsutils");
        await using var ns4 = await TestNamespace.CreateAsync();
        await using var ns6 = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback6("from-host-v6");
        var dir4 = HostTools.TempDir();
        var dir6 = HostTools.TempDir();
        int? daemon4 = null, daemon6 = null;
        try
        {
            (daemon4, var stderr) = await StartPastaAsync(dir4, "--config-net", "--ipv4-only", "-t", "none", "-u", "none", "--quiet", "--netns", ns4.Path);
            Assert.True(daemon4 is not null, stderr);
            Assert.Contains("inet 10.0.2.15/24", await ns4.CheckAsync("ip", "-o", "-4", "addr", "show", "dev", "tap0"), StringComparison.Ordinal);
            Assert.Equal(string.Empty, (await ns4.CheckAsync("ip", "-o", "-6", "addr", "show", "dev", "tap0", "scope", "global")).Trim());
            // No router either: a solicitation goes unanswered, so no address can come later.
            Assert.NotEqual(0, (await ns4.RunAsync("rdisc6", "-1", "-r", "2", "-w", "1000", "tap0")).ExitCode);

            (daemon6, stderr) = await StartPastaAsync(dir6, "--config-net", "-6", "--dns-forward", "fd01::53", "-t", "none", "-u", "none", "--quiet", "--netns", ns6.Path);
            Assert.True(daemon6 is not null, stderr);
            Assert.Equal(string.Empty, (await ns6.CheckAsync("ip", "-o", "-4", "addr", "show", "dev", "tap0")).Trim());
            Assert.Contains("inet6 fd00::15/64", await ns6.CheckAsync("ip", "-o", "-6", "addr", "show", "dev", "tap0", "scope", "global"), StringComparison.Ordinal);
            var curl = await ns6.RunAsync("curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[fd00::2]:{hostServer.Port}/");
            Assert.True(curl.Stdout == "from-host-v6", curl.Stdout + curl.Stderr);

            // An IPv6 --dns-forward, outside the network as podman's IPv4 one: answered from the host's resolvers.
            var dig = await ns6.RunAsync("dig", "+time=5", "+tries=2", "@fd01::53", "localhost.", "AAAA");
            Assert.True(dig.ExitCode == 0, dig.Stdout + dig.Stderr);
            Assert.Contains("status:", dig.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            StopPasta(daemon4);
            StopPasta(daemon6);
            Directory.Delete(dir4, recursive: true);
            Directory.Delete(dir6, recursive: true);
        }
    }

    [Fact]
    public async Task A_tcp_ns_forward_listens_on_the_loopback_of_each_family_in_use()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("ss", "iproute2");
        await using var both = await TestNamespace.CreateAsync();
        await using var only4 = await TestNamespace.CreateAsync();
        await using var only6 = await TestNamespace.CreateAsync();
        using var hostServer6 = TinyHttpServer.OnLoopback6("from-host-v6");
        const int Port = 18590;
        var dirs = new[] { HostTools.TempDir(), HostTools.TempDir(), HostTools.TempDir() };
        var daemons = new int?[3];
        try
        {
            // As pasta: -T without an address listens on 127.0.0.1 and ::1, each towards the host's
            // loopback of the same family; -4 and -6 leave the other family out.
            string[] common = ["--config-net", "-t", "none", "-u", "none", "-U", "none", "-T", $"{Port}:{hostServer6.Port}", "--quiet", "--netns"];
            (daemons[0], var stderr) = await StartPastaAsync(dirs[0], [.. common, both.Path]);
            Assert.True(daemons[0] is not null, stderr);
            (daemons[1], stderr) = await StartPastaAsync(dirs[1], [.. common, only4.Path, "-4"]);
            Assert.True(daemons[1] is not null, stderr);
            (daemons[2], stderr) = await StartPastaAsync(dirs[2], [.. common, only6.Path, "-6"]);
            Assert.True(daemons[2] is not null, stderr);

            var curl = await both.RunAsync("curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[::1]:{Port}/");
            Assert.True(curl.Stdout == "from-host-v6", curl.Stdout + curl.Stderr);
            Assert.Equal(["127.0.0.1", "[::1]"], await ListenersAsync(both));
            Assert.Equal(["127.0.0.1"], await ListenersAsync(only4));
            Assert.Equal(["[::1]"], await ListenersAsync(only6));
            curl = await only6.RunAsync("curl", "-6", "-g", "-sS", "--max-time", "20", $"http://[::1]:{Port}/");
            Assert.True(curl.Stdout == "from-host-v6", curl.Stdout + curl.Stderr);
        }
        finally
        {
            foreach (var daemon in daemons)
            {
                StopPasta(daemon);
            }

            foreach (var dir in dirs)
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        static async Task<string[]> ListenersAsync(TestNamespace ns)
        {
            var ss = await ns.CheckAsync("ss", "-ltnH", $"sport = :{Port}");
            return [.. ss.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3])
                .Select(local => local[..local.LastIndexOf(':')])
                .Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>pasta (netdevd through a symlink) with <paramref name="args"/> and --pid: the daemon's PID once pasta returned 0, else null and its stderr.</summary>
    internal static Task<(int? Daemon, string Stderr)> StartPastaAsync(string dir, params string[] args) =>
        StartPastaAsync(dir, Path.Combine(AppContext.BaseDirectory, "netdevd"), args);

    /// <summary>As <see cref="StartPastaAsync(string, string[])"/>, with the netdevd binary at <paramref name="netdevd"/> (the published one).</summary>
    internal static async Task<(int? Daemon, string Stderr)> StartPastaAsync(string dir, string netdevd, string[] args)
    {
        var pasta = Path.Combine(dir, "pasta");
        File.CreateSymbolicLink(pasta, netdevd);
        var pidFile = Path.Combine(dir, "pasta.pid");
        var (code, _, stderr) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(90), pasta, [.. args, "--pid", pidFile]);
        return code == 0 ? (int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture), stderr) : (null, $"pasta exited with {code}: {stderr}");
    }

    internal static void StopPasta(int? daemon)
    {
        if (daemon is { } pid && Directory.Exists($"/proc/{pid}"))
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
    }
}
