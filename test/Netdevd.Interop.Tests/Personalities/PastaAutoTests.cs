using System.Net;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// netdevd as pasta with auto port forwarding (rootlesskit's <c>--tcp-ports=auto --udp-ports=auto</c>,
/// and -T/-U left out, which pasta takes as auto): servers started after pasta, in the namespace
/// or on the host, become reachable from the other side, and a server's port is let go when it exits.
/// </summary>
public sealed class PastaAutoTests
{
    /// <summary>How long a port may take to follow (the scan runs every second; the machine may be busy).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_namespace_server_started_later_is_reachable_from_the_host_and_its_port_let_go_when_it_exits()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        var dir = HostTools.TempDir();
        int? daemon = null;
        TinyHttpServer? server = null;
        try
        {
            // rootlesskit 2's line with its implicit port driver.
            (daemon, var stderr) = await PastaTests.StartPastaAsync(dir, "--stderr", "--ns-ifname=tap0", "--mtu=65520", "--config-net", "--address=10.0.2.100",
                "--netmask=24", "--gateway=10.0.2.2", "--dns-forward=10.0.2.3", "--tcp-ports=auto", "--udp-ports=auto", "--ipv4-only", "--quiet", "--netns", ns.Path);
            Assert.True(daemon is not null, stderr);

            var port = HostTools.FreePort();
            Assert.True(CanBindOnHost(port), $"port {port} is taken on the host before the test");
            server = TinyHttpServer.InNamespace(ns, "from-namespace", "0.0.0.0", port);

            // Reachable from the host's loopback (spliced to the namespace's) once a scan saw it.
            var body = string.Empty;
            var deadline = DateTime.UtcNow + Patience;
            while (body != "from-namespace" && DateTime.UtcNow < deadline)
            {
                body = (await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(30), "curl", "-s", "--max-time", "5", $"http://127.0.0.1:{port}/")).Stdout;
                if (body != "from-namespace")
                {
                    await Task.Delay(200);
                }
            }

            Assert.True(body == "from-namespace", $"the namespace's port {port} was not forwarded from the host");
            Assert.False(CanBindOnHost(port), "the forwarded port is not bound on the host");

            // The server exits: the host's port is let go.
            server.Dispose();
            server = null;
            var free = false;
            deadline = DateTime.UtcNow + Patience;
            while (!free && DateTime.UtcNow < deadline)
            {
                free = CanBindOnHost(port);
                if (!free)
                {
                    await Task.Delay(200);
                }
            }

            Assert.True(free, $"port {port} is still bound on the host after the namespace's server exited");
        }
        finally
        {
            server?.Dispose();
            PastaTests.StopPasta(daemon);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_host_loopback_server_started_later_is_reachable_from_the_namespaces_loopback()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            // -T and -U not given: auto, as pasta.
            (daemon, var stderr) = await PastaTests.StartPastaAsync(dir, "--config-net", "-t", "none", "-u", "none", "--quiet", "--netns", ns.Path);
            Assert.True(daemon is not null, stderr);

            using var hostServer = TinyHttpServer.OnLoopback("from-host");
            var body = string.Empty;
            var deadline = DateTime.UtcNow + Patience;
            while (body != "from-host" && DateTime.UtcNow < deadline)
            {
                body = (await ns.RunAsync("curl", "-s", "--max-time", "5", $"http://127.0.0.1:{hostServer.Port}/")).Stdout;
                if (body != "from-host")
                {
                    await Task.Delay(200);
                }
            }

            Assert.True(body == "from-host", $"the host's loopback port {hostServer.Port} was not forwarded from the namespace's");
        }
        finally
        {
            PastaTests.StopPasta(daemon);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_namespace_udp_server_started_later_answers_host_datagrams()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("python3", "python3");
        await using var ns = await TestNamespace.CreateAsync();
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            (daemon, var stderr) = await PastaTests.StartPastaAsync(dir, "--config-net", "-u", "auto", "-t", "none", "-T", "none", "-U", "none",
                "--ipv4-only", "--quiet", "--netns", ns.Path);
            Assert.True(daemon is not null, stderr);

            // An echo in the namespace, started after pasta; it ends 10 s after the last datagram.
            var port = HostTools.FreePort(SocketType.Dgram);
            var echo = ns.RunAsync("timeout", "120", "python3", "-c",
                $"import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', {port}))\ns.settimeout(70)\n" +
                "while True:\n d,a=s.recvfrom(100); s.sendto(b'echo:'+d, a); s.settimeout(10)");
            using var client = new UdpClient(AddressFamily.InterNetwork);
            client.Connect(IPAddress.Loopback, port);
            var answer = string.Empty;
            var deadline = DateTime.UtcNow + Patience;
            while (answer != "echo:hi" && DateTime.UtcNow < deadline && !echo.IsCompleted)
            {
                try
                {
                    await client.SendAsync("hi"u8.ToArray());
                    using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                    answer = System.Text.Encoding.ASCII.GetString((await client.ReceiveAsync(wait.Token)).Buffer);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException)
                {
                    // Not forwarded yet (nothing bound on the host: refused) or lost: again.
                }
            }

            Assert.True(answer == "echo:hi", echo.IsCompleted ? (await echo).Stderr : $"the namespace's UDP port {port} was not forwarded from the host");
        }
        finally
        {
            PastaTests.StopPasta(daemon);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Whether a TCP socket of ours can bind <paramref name="port"/> on every IPv4 address of the host now.</summary>
    private static bool CanBindOnHost(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
