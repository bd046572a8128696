using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// pasta's -T/-U forwards (the namespace's loopback to the host's) against clients of the namespace
/// that use them hard: a resolver that takes a new source port per query, more connections than
/// the relay holds at once, and a daemon that ran out of descriptors. Each must leave the forward
/// serving, as pasta's own does.
/// </summary>
public sealed class PastaNamespaceForwardLimitsTests
{
    [Fact]
    public async Task A_udp_forward_serves_a_client_that_takes_a_new_source_port_for_each_datagram()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("python3", "python3");
        await using var ns = await TestNamespace.CreateAsync();
        using var echo = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var echoPort = ((IPEndPoint)echo.Client.LocalEndPoint!).Port;
        using var stopEcho = new CancellationTokenSource();
        _ = EchoAsync(echo, stopEcho.Token);
        const int Port = 18601;
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            (daemon, var stderr) = await PastaTests.StartPastaAsync(dir,
                "--config-net", "-t", "none", "-u", "none", "-T", "none", "-U", $"{Port}:{echoPort}", "--quiet", "--netns", ns.Path, "-4");
            Assert.True(daemon is not null, stderr);

            // More peers than the relay keeps sockets for (256): each datagram from its own socket,
            // as a resolver sends its queries; the count of answers until the first one missing.
            const int peers = 300;
            var udp = await ns.RunAsync("python3", "-c",
                $"import socket\nserved = 0\nfor i in range({peers}):\n" +
                "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)\n" +
                $"    s.sendto(b'q%d' % i, ('127.0.0.1', {Port}))\n" +
                "    try:\n        ok = s.recv(100) == b'q%d' % i\n    except socket.timeout:\n        ok = False\n" +
                "    s.close()\n    if not ok:\n        break\n    served += 1\nprint(served)");
            Assert.True(udp.ExitCode == 0, udp.Stderr);
            Assert.Equal(peers.ToString(CultureInfo.InvariantCulture), udp.Stdout.Trim());
        }
        finally
        {
            await stopEcho.CancelAsync();
            PastaTests.StopPasta(daemon);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_tcp_forward_accepts_again_once_descriptors_are_back()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("prlimit", "util-linux");
        await using var ns = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        const int Port = 18602;
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            (daemon, var stderr) = await PastaTests.StartPastaAsync(dir,
                "--config-net", "-t", "none", "-u", "none", "-U", "none", "-T", $"{Port}:{hostServer.Port}", "--quiet", "--netns", ns.Path, "-4");
            Assert.True(daemon is not null, stderr);
            var url = $"http://127.0.0.1:{Port}/";
            Assert.Equal("from-host", (await ns.RunAsync("curl", "-sS", "--max-time", "20", url)).Stdout);

            // The daemon's soft descriptor limit at its lowest free descriptor: the next accept
            // fails (EMFILE) and the connection waits in the listener's backlog.
            var pid = daemon.Value.ToString(CultureInfo.InvariantCulture);
            var limits = await HostCommand.CheckAsync("prlimit", "--pid", pid, "--nofile", "--noheadings", "--raw", "--output", "SOFT");
            var lowestFree = DescriptorStarvation.LowestFreeDescriptor(daemon.Value);
            await HostCommand.CheckAsync("prlimit", "--pid", pid, $"--nofile={lowestFree}:");
            var starved = await ns.RunAsync("curl", "-sS", "--max-time", "2", url);
            Assert.NotEqual("from-host", starved.Stdout);

            // Descriptors back: the forward serves again, without a restart.
            await HostCommand.CheckAsync("prlimit", "--pid", pid, $"--nofile={limits.Trim()}:");
            var served = await ns.RunAsync("curl", "-sS", "--max-time", "20", url);
            Assert.True(served.Stdout == "from-host", served.Stderr);
        }
        finally
        {
            PastaTests.StopPasta(daemon);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_published_tcp_port_out_of_descriptors_waits_without_spinning_and_then_serves_the_waiting_client()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("prlimit", "util-linux");
        await using var ns = await TestNamespace.CreateAsync();
        const int NamespacePort = 18605;
        var published = HostTools.FreePort();
        var dir = HostTools.TempDir();
        int? daemon = null;
        try
        {
            (daemon, var stderr) = await PastaTests.StartPastaAsync(dir,
                "--config-net", "-t", $"{published}:{NamespacePort}", "-u", "none", "-T", "none", "-U", "none", "--quiet", "--netns", ns.Path, "-4");
            Assert.True(daemon is not null, stderr);
            // On every address of the namespace: a loopback client is spliced to its loopback,
            // and should the splice have no descriptor for its side it goes through the tap.
            // No client before the limit is taken: a spliced connection's descriptors closing
            // after it would free one below the limit.
            using var server = TinyHttpServer.InNamespace(ns, "from-namespace", "0.0.0.0", NamespacePort);
            var url = $"http://127.0.0.1:{published}/";
            var listening = false;
            for (var i = 0; i < 100 && !listening; i++)
            {
                listening = (await HostCommand.CheckAsync("ss", "-ltnH", $"sport = :{published}")).Length > 0;
                await Task.Delay(listening ? 0 : 100);
            }

            Assert.True(listening, $"nothing listens on the published port {published}");

            (string Stdout, string Stderr) waiting;
            await using (var starved = await DescriptorStarvation.BeginAsync(daemon.Value))
            {
                // A client of the published port while the daemon is out of descriptors: its
                // connection waits in the backlog and accept fails (EMFILE). The listener must
                // wait for a retry, not poll itself again and again (a core at 100%).
                var curl = HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(30), "curl", "-sS", "--max-time", "20", url);
                await Task.Delay(300);
                var cpu = await DescriptorStarvation.CpuTimeOverAsync(daemon.Value, TimeSpan.FromSeconds(1));
                TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"daemon CPU over 1 s while accept failed: {cpu.TotalSeconds:F2} s"));
                Assert.True(cpu < TimeSpan.FromSeconds(0.2), string.Create(CultureInfo.InvariantCulture, $"the daemon used {cpu.TotalSeconds:F2} s of CPU in 1 s while accept failed"));
                await starved.RestoreAsync();

                // Descriptors back: the client that waited is served (the listener's readiness
                // is edge-triggered, so nothing but the retry would take it).
                var (_, stdout, curlErr) = await curl;
                waiting = (stdout, curlErr);
            }

            // The waiting client is served (a reset here has been the daemon aborting: the .NET
            // runtime reports "Out of memory." and aborts when it cannot start a thread-pool
            // thread for want of descriptors, which the retry's timer callback may need).
            Assert.True(waiting.Stdout == "from-namespace", waiting.Stderr);
            Assert.True(Directory.Exists($"/proc/{daemon.Value}"), "the daemon ended while it was out of descriptors");
        }
        finally
        {
            PastaTests.StopPasta(daemon);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_tcp_forward_relays_a_bounded_number_of_connections_and_queues_the_rest()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("python3", "python3");
        await using var ns = await TestNamespace.CreateAsync();
        using var holder = new HoldingServer();
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        const int FloodPort = 18603;
        const int HttpPort = 18604;
        var dir = HostTools.TempDir();
        var release = Path.Combine(dir, "release");
        int? daemon = null;
        try
        {
            (daemon, var stderr) = await PastaTests.StartPastaAsync(dir,
                "--config-net", "-t", "none", "-u", "none", "-U", "none", "-T", $"{FloodPort}:{holder.Port}", "-T", $"{HttpPort}:{hostServer.Port}",
                "--quiet", "--netns", ns.Path, "-4");
            Assert.True(daemon is not null, stderr);

            // 600 connections held open from the namespace: up to 512 are relayed (the relay slots
            // are shared by all forwards, and the other forward's waiting accept holds one), the
            // rest wait in the listener's backlog (128) instead of costing two descriptors each.
            var flood = ns.RunAsync("python3", "-c",
                "import os, socket, time\nheld = []\nfor i in range(600):\n" +
                $"    s = socket.create_connection(('127.0.0.1', {FloodPort}), timeout=10); held.append(s)\n" +
                $"while not os.path.exists('{release}'):\n    time.sleep(0.05)\nprint(len(held))");
            Assert.True(SpinWait.SpinUntil(() => holder.Accepted >= 511 || flood.IsCompleted, TimeSpan.FromSeconds(60)), $"{holder.Accepted} relayed");
            await Task.Delay(1000);
            Assert.InRange(holder.Accepted, 511, 512);

            await File.WriteAllTextAsync(release, "");
            var (code, held, floodErr) = await flood;
            Assert.True(code == 0, floodErr);
            Assert.Equal("600", held.Trim());

            // The host's end closes as well (a relay whose namespace client closed first waits
            // for the host's end, as a half-closed connection does).
            holder.Dispose();

            // The slots come back as the flood's connections close: the other forward serves.
            var served = await ns.RunAsync("curl", "-sS", "--max-time", "20", $"http://127.0.0.1:{HttpPort}/");
            Assert.True(served.Stdout == "from-host", served.Stderr);
        }
        finally
        {
            await File.WriteAllTextAsync(release, "");
            PastaTests.StopPasta(daemon);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task EchoAsync(UdpClient echo, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var datagram = await echo.ReceiveAsync(stop);
                await echo.SendAsync(datagram.Buffer, datagram.RemoteEndPoint, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A host listener that accepts every connection and holds it open until disposed, counting them.</summary>
    private sealed class HoldingServer : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly List<Socket> _held = [];
        private int _accepted;

        public HoldingServer()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1024);
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public void Dispose()
        {
            _listener.Dispose();
            lock (_held)
            {
                foreach (var socket in _held)
                {
                    socket.Dispose();
                }
            }
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptAsync();
                    lock (_held)
                    {
                        _held.Add(socket);
                    }

                    Interlocked.Increment(ref _accepted);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
            }
        }
    }
}
