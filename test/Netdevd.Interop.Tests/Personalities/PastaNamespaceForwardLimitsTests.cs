using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Interop.Tests.User;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// pasta's -T/-U forwards (the namespace's loopback to the host's) against clients of the namespace
/// that use them hard: a resolver that takes a new source port per query, more connections than
/// the relay holds at once, and a daemon that ran out of descriptors. Each must leave the forward
/// serving, as pasta's own does. And its -u forward (the host's port to the namespace's) against
/// host clients that take a new source port per datagram: the forward keeps serving, and the
/// namespace keeps its own outbound UDP.
/// </summary>
public sealed class PastaNamespaceForwardLimitsTests
{
    /// <summary>More one-datagram host clients than the user netdev keeps UDP flows for (512).</summary>
    private const int FloodClients = 600;

    [Fact]
    public async Task A_udp_hostfwd_serves_a_client_that_takes_a_new_source_port_for_each_datagram()
    {
        TapTestKit.RequireRoot();
        await using var ns = await TestNamespace.CreateAsync();
        const int Port = 18700;
        using var nsEcho = UdpEcho.InNamespace(ns, Port);
        await using var pasta = await Pasta.StartAsync(ns, "-u", $"{Port}");

        // Each datagram from its own socket, as a resolver sends its queries: every one is
        // answered (the forward's flows stopped at the shared UDP flow limit, 512).
        Assert.Equal(FloodClients, await ServedOneDatagramClientsAsync(Port, FloodClients));
    }

    [Fact]
    public async Task The_namespace_keeps_outbound_udp_while_host_clients_fill_a_udp_forward()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("python3", "python3");
        await using var ns = await TestNamespace.CreateAsync();
        const int Port = 18701;
        using var nsEcho = UdpEcho.InNamespace(ns, Port);
        using var hostEcho = UdpEcho.OnLoopback();
        await using var pasta = await Pasta.StartAsync(ns, "-u", $"{Port}");

        // The gateway (10.0.2.2) leads to the host's loopback: a datagram from a new socket of
        // the namespace each time, so each needs a new flow.
        var outbound = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)\n" +
            $"s.sendto(b'out', ('10.0.2.2', {hostEcho.Port}))\ntry:\n    print(s.recv(100).decode())\nexcept socket.timeout:\n    print('timeout')";
        var before = await ns.RunAsync("python3", "-c", outbound);
        Assert.True(before.Stdout.Trim() == "out", before.Stdout + before.Stderr);

        // Host clients fill the forward (each a new source port); however many it served, the
        // namespace's own UDP must not lose its flows to them (it got none once 512 were taken).
        await ServedOneDatagramClientsAsync(Port, FloodClients);
        var after = await ns.RunAsync("python3", "-c", outbound);
        Assert.True(after.Stdout.Trim() == "out", after.Stdout + after.Stderr);
    }

    [Fact]
    public async Task A_udp_ns_forward_serves_a_client_that_takes_a_new_source_port_for_each_datagram()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("python3", "python3");
        await using var ns = await TestNamespace.CreateAsync();
        using var echo = UdpEcho.OnLoopback();
        const int Port = 18601;
        await using var pasta = await Pasta.StartAsync(ns, "-U", $"{Port}:{echo.Port}");

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

    [Fact]
    public async Task A_tcp_forward_accepts_again_once_descriptors_are_back()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        HostTools.Require("prlimit", "util-linux");
        await using var ns = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback("from-host");
        const int Port = 18602;
        await using var pasta = await Pasta.StartPublishedAsync(ns, "-T", $"{Port}:{hostServer.Port}");
        var url = $"http://127.0.0.1:{Port}/";
        var first = await ns.RunAsync("curl", "-sS", "--max-time", "20", url);
        Assert.True(first.Stdout == "from-host", first.Stdout + first.Stderr);

        // The daemon out of descriptors: the next accept fails (EMFILE) and the connection
        // waits in the listener's backlog.
        await using (var starved = await DescriptorStarvation.BeginAsync(pasta.Pid))
        {
            var waiting = await ns.RunAsync("curl", "-sS", "--max-time", "2", url);
            Assert.NotEqual("from-host", waiting.Stdout);
        }

        // Descriptors back: the forward serves again, without a restart.
        var served = await ns.RunAsync("curl", "-sS", "--max-time", "20", url);
        Assert.True(served.Stdout == "from-host", served.Stderr);
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
        await using var pasta = await Pasta.StartPublishedAsync(ns, "-t", $"{published}:{NamespacePort}");

        // On every address of the namespace: a loopback client is spliced to its loopback, and
        // should the splice have no descriptor for its side it goes through the tap. No client
        // before the limit is taken: a spliced connection's descriptors closing after it would
        // free one below the limit.
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
        await using (var starved = await DescriptorStarvation.BeginAsync(pasta.Pid))
        {
            // A client of the published port while the daemon is out of descriptors: its
            // connection waits in the backlog and accept fails (EMFILE). The listener must wait
            // for a retry, not poll itself again and again (a core at 100%).
            var curl = HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(30), "curl", "-sS", "--max-time", "20", url);
            await Task.Delay(300);
            var cpu = await DescriptorStarvation.CpuTimeOverAsync(pasta.Pid, TimeSpan.FromSeconds(1));
            Assert.True(cpu < TimeSpan.FromSeconds(0.2), string.Create(CultureInfo.InvariantCulture, $"the daemon used {cpu.TotalSeconds:F2} s of CPU in 1 s while accept failed"));
            await starved.RestoreAsync();

            // Descriptors back: the client that waited is served (the listener's readiness is
            // edge-triggered, so nothing but the retry would take it).
            var (_, stdout, curlErr) = await curl;
            waiting = (stdout, curlErr);
        }

        Assert.True(waiting.Stdout == "from-namespace", waiting.Stderr);
        Assert.True(Directory.Exists($"/proc/{pasta.Pid}"), "the daemon ended while it was out of descriptors");
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
        await using var pasta = await Pasta.StartAsync(ns, "-T", $"{FloodPort}:{holder.Port}", "-T", $"{HttpPort}:{hostServer.Port}");
        var release = Path.Combine(pasta.Dir, "release");
        try
        {
            // 600 connections held open from the namespace: 512 are relayed (the slots are shared
            // by all forwards; the other forward's idle listener holds none), one waits accepted
            // for a slot, the rest wait in the listener's backlog instead of costing descriptors.
            var flood = ns.RunAsync("python3", "-c",
                "import os, socket, time\nheld = []\nfor i in range(600):\n" +
                $"    s = socket.create_connection(('127.0.0.1', {FloodPort}), timeout=10); held.append(s)\n" +
                $"while not os.path.exists('{release}'):\n    time.sleep(0.05)\nprint(len(held))");
            Assert.True(SpinWait.SpinUntil(() => holder.Accepted >= 512 || flood.IsCompleted, TimeSpan.FromSeconds(60)), $"{holder.Accepted} relayed");
            await Task.Delay(1000);
            Assert.Equal(512, holder.Accepted);

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
        }
    }

    [Fact]
    public async Task More_idle_tcp_forwards_than_relay_slots_leave_every_forward_serving()
    {
        TapTestKit.RequireRoot();
        HostTools.Require("curl", "curl");
        await using var ns = await TestNamespace.CreateAsync();
        using var hostServer = TinyHttpServer.OnLoopback("from-host");

        // 600 forwarded ports (more than the 512 relay slots), each to the host's same port
        // number, and one forward to the server: listening costs no slot, so it still serves.
        const int First = 18700;
        await using var pasta = await Pasta.StartAsync(ns, "-T", $"{First}-{First + 599},{First + 600}:{hostServer.Port}");
        var served = await ns.RunAsync("curl", "-sS", "--max-time", "20", $"http://127.0.0.1:{First + 600}/");
        Assert.True(served.Stdout == "from-host", served.Stderr);
    }

    /// <summary>
    /// <paramref name="clients"/> host clients, one after the other, each from a fresh socket that
    /// sends one datagram to the host's loopback <paramref name="port"/> and waits 2 s for its echo:
    /// how many were answered before the first that was not.
    /// </summary>
    private static async Task<int> ServedOneDatagramClientsAsync(int port, int clients)
    {
        var target = new IPEndPoint(IPAddress.Loopback, port);
        var buffer = new byte[100];
        for (var i = 0; i < clients; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var query = Encoding.ASCII.GetBytes($"q{i}");
            await socket.SendToAsync(query, target);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                var n = await socket.ReceiveAsync(buffer, timeout.Token);
                if (!buffer.AsSpan(0, n).SequenceEqual(query))
                {
                    return i;
                }
            }
            catch (OperationCanceledException)
            {
                return i;
            }
        }

        return clients;
    }

    /// <summary>
    /// netdevd as pasta for <paramref name="ns"/>'s namespace, IPv4 only, with no forwards but the
    /// -T/-U given; ended (by its PID) and its directory removed on disposal.
    /// </summary>
    private sealed class Pasta(int pid, string dir) : IAsyncDisposable
    {
        public int Pid { get; } = pid;

        public string Dir { get; } = dir;

        public static Task<Pasta> StartAsync(TestNamespace ns, params string[] forwards) =>
            StartAsync(ns, Path.Combine(AppContext.BaseDirectory, "netdevd"), forwards);

        /// <summary>
        /// The published NativeAOT binary as pasta (./test.sh names it in NETDEVD_AOT_BINARY), for
        /// the tests that take the daemon's descriptors away: the JIT runtime aborts ("Out of
        /// memory.") when it cannot start a thread then, the shipped binary goes on. Skipped,
        /// with that reason, when no published binary is named.
        /// </summary>
        public static Task<Pasta> StartPublishedAsync(TestNamespace ns, params string[] forwards)
        {
            var published = Environment.GetEnvironmentVariable("NETDEVD_AOT_BINARY");
            Assert.SkipWhen(string.IsNullOrEmpty(published) || !File.Exists(published),
                "needs the published NativeAOT binary (NETDEVD_AOT_BINARY, set by ./test.sh): out of descriptors, the JIT runtime aborts when it cannot start a thread");
            return StartAsync(ns, published!, forwards);
        }

        private static async Task<Pasta> StartAsync(TestNamespace ns, string netdevd, string[] forwards)
        {
            var dir = HostTools.TempDir();
            string[] none = [.. new[] { "-t", "-u", "-T", "-U" }.Where(o => !forwards.Contains(o)).SelectMany(o => new[] { o, "none" })];
            var (daemon, stderr) = await PastaTests.StartPastaAsync(dir, netdevd, ["--config-net", .. none, .. forwards, "--quiet", "--netns", ns.Path, "-4"]);
            if (daemon is null)
            {
                Directory.Delete(dir, recursive: true);
                Assert.Fail(stderr);
            }

            return new Pasta(daemon.Value, dir);
        }

        public ValueTask DisposeAsync()
        {
            PastaTests.StopPasta(Pid);
            Directory.Delete(Dir, recursive: true);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A UDP echo of the test's own, on the host's loopback or in a namespace; it stops when disposed.</summary>
    private sealed class UdpEcho : IDisposable
    {
        private readonly Socket _socket;

        private UdpEcho(Socket socket)
        {
            _socket = socket;
            _ = EchoAsync();
        }

        public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

        /// <summary>On the host's 127.0.0.1, at a port of the kernel's choosing.</summary>
        public static UdpEcho OnLoopback()
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return new UdpEcho(socket);
        }

        /// <summary>On every IPv4 address of <paramref name="ns"/>, at <paramref name="port"/>.</summary>
        public static UdpEcho InNamespace(TestNamespace ns, int port)
        {
            var socket = NamespaceSocket.Create(ns.Name, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return new UdpEcho(socket);
        }

        public void Dispose() => _socket.Dispose();

        private async Task EchoAsync()
        {
            var buffer = new byte[2048];
            try
            {
                while (true)
                {
                    var received = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0));
                    await _socket.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), received.RemoteEndPoint);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // Disposed: the test is over.
            }
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
