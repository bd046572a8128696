using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Native;
using Netdevd.Personalities.Pasta;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// The pasta personality's -t splice itself, in this process, against a server on a test
/// namespace's loopback: data both ways intact, each half-close, resets passed on, many
/// connections on a bounded number of threads, the bound on spliced connections, and every
/// connection ended when the user netdev that offers them closes.
/// </summary>
public sealed class PastaSpliceTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bulk_data_crosses_both_ways_at_once_intact()
    {
        await using var rig = await Rig.CreateAsync();
        var (client, server) = await rig.ConnectAsync();
        using (client)
        using (server)
        {
            var up = RandomNumberGenerator.GetBytes(24 << 20);
            var down = RandomNumberGenerator.GetBytes(24 << 20);
            var clientSide = Task.Run(() => SendAndReceiveAsync(client, up));
            var serverSide = Task.Run(() => SendAndReceiveAsync(server, down));
            var fromServer = await clientSide;
            var fromClient = await serverSide;
            Assert.Equal(SHA256.HashData(up), SHA256.HashData(fromClient));
            Assert.Equal(SHA256.HashData(down), SHA256.HashData(fromServer));
        }
    }

    [Fact]
    public async Task A_client_that_stops_sending_still_receives_the_reply()
    {
        await using var rig = await Rig.CreateAsync();
        var (client, server) = await rig.ConnectAsync();
        using (client)
        using (server)
        {
            await client.SendAsync("request"u8.ToArray(), Token);
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal("request"u8.ToArray(), await ReadToEndAsync(server));

            await server.SendAsync("reply"u8.ToArray(), Token);
            server.Shutdown(SocketShutdown.Send);
            Assert.Equal("reply"u8.ToArray(), await ReadToEndAsync(client));
        }
    }

    [Fact]
    public async Task A_server_that_stops_sending_still_receives_from_the_client()
    {
        await using var rig = await Rig.CreateAsync();
        var (client, server) = await rig.ConnectAsync();
        using (client)
        using (server)
        {
            await server.SendAsync("banner"u8.ToArray(), Token);
            server.Shutdown(SocketShutdown.Send);
            Assert.Equal("banner"u8.ToArray(), await ReadToEndAsync(client));

            await client.SendAsync("late"u8.ToArray(), Token);
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal("late"u8.ToArray(), await ReadToEndAsync(server));
        }
    }

    [Fact]
    public async Task A_reset_by_the_server_reaches_the_client_as_a_reset()
    {
        await using var rig = await Rig.CreateAsync();
        var (client, server) = await rig.ConnectAsync();
        using (client)
        {
            await client.SendAsync("x"u8.ToArray(), Token);
            Assert.Equal((byte)'x', (await ReadAsync(server, 1))[0]);
            server.LingerState = new LingerOption(true, 0);
            server.Close();

            var e = await Assert.ThrowsAsync<SocketException>(async () => await ReadToEndAsync(client));
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }
    }

    [Fact]
    public async Task A_reset_by_the_client_reaches_the_server_as_a_reset()
    {
        await using var rig = await Rig.CreateAsync();
        var (client, server) = await rig.ConnectAsync();
        using (server)
        {
            client.LingerState = new LingerOption(true, 0);
            client.Close();

            var e = await Assert.ThrowsAsync<SocketException>(async () => await ReadToEndAsync(server));
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }
    }

    [Fact]
    public async Task Two_hundred_concurrent_connections_take_a_bounded_number_of_threads()
    {
        await using var rig = await Rig.CreateAsync();
        var pairs = new List<(Socket Client, Socket Server)>();
        try
        {
            // The relay's and the namespace's threads exist once the first connection is spliced.
            pairs.Add(await rig.ConnectAsync());
            var before = ThreadCount();
            for (var i = 1; i < 200; i++)
            {
                pairs.Add(await rig.ConnectAsync());
            }

            // Every one of them works, both ways.
            foreach (var (client, server) in pairs)
            {
                await client.SendAsync("ping"u8.ToArray(), Token);
                Assert.Equal("ping"u8.ToArray(), await ReadAsync(server, 4));
                await server.SendAsync("pong"u8.ToArray(), Token);
                Assert.Equal("pong"u8.ToArray(), await ReadAsync(client, 4));
            }

            Assert.Equal(200, rig.Splice.Connections);

            // A thread per connection (or two) would add hundreds; the thread pool and the test
            // runner's own come and go, by a few dozen at most.
            var added = ThreadCount() - before;
            Assert.True(added < 60, $"{added} threads more for 199 more spliced connections");
        }
        finally
        {
            foreach (var (client, server) in pairs)
            {
                client.Dispose();
                server.Dispose();
            }
        }
    }

    [Fact]
    public async Task Past_the_bound_a_client_is_left_to_the_user_netdevs_path()
    {
        await using var rig = await Rig.CreateAsync(maxConnections: 2);
        var (c1, s1) = await rig.ConnectAsync();
        var (c2, s2) = await rig.ConnectAsync();
        using (c2)
        using (s2)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var fd = await rig.AcceptOnHostAsync(client);
            Assert.False(rig.Splice.TrySplice(fd, ipv6: false, rig.ServerPort, Rig.NoFallback));
            Libc.Close(fd); // still ours: refused

            // One ends: room for the next.
            c1.Dispose();
            s1.Dispose();
            for (var i = 0; i < 500 && rig.Splice.Connections > 1; i++)
            {
                await Task.Delay(10, Token);
            }

            var (c3, s3) = await rig.ConnectAsync();
            c3.Dispose();
            s3.Dispose();
        }
    }

    [Fact]
    public async Task Nothing_listening_on_the_namespaces_loopback_leaves_the_client_to_the_user_netdev()
    {
        await using var rig = await Rig.CreateAsync();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var fd = await rig.AcceptOnHostAsync(client);
        Assert.False(rig.Splice.TrySplice(fd, ipv6: false, UnusedPort, Rig.NoFallback));

        // The descriptor is still the caller's, open and connected.
        Assert.Equal(1, Libc.Write(fd, "y"u8));
        Assert.Equal((byte)'y', (await ReadAsync(client, 1))[0]);
        Libc.Close(fd);
    }

    [Fact]
    public async Task Closing_the_user_netdev_ends_every_spliced_connection()
    {
        await using var rig = await Rig.CreateAsync();
        var options = new NetdevUserOptions { Ipv6 = false, Hostfwd = [new() { Str = $"tcp:127.0.0.1:0-:{rig.ServerPort}" }] };
        var netdev = UserNetClient.Create("u-splice-close", UserNetConfigParser.Parse(options), TimeProvider.System, NullLogger.Instance);
        netdev.LoopbackSplice = rig.Splice;
        var clients = new List<Socket>();
        var servers = new List<Socket>();
        try
        {
            var port = (int)netdev.HostForwards[0].HostPort;
            for (var i = 0; i < 20; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, port, Token);
                var server = await rig.Listener.AcceptAsync(Token);
                servers.Add(server);
                await client.SendAsync("hi"u8.ToArray(), Token);
                Assert.Equal("hi"u8.ToArray(), await ReadAsync(server, 2));
            }

            await netdev.DisposeAsync();
            Assert.Equal(0, rig.Splice.Connections);
            foreach (var socket in clients.Concat(servers))
            {
                // The relay is gone: each side learns it (a reset), nothing hangs.
                var e = await Assert.ThrowsAsync<SocketException>(async () => await ReadToEndAsync(socket));
                Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
            }
        }
        finally
        {
            await netdev.DisposeAsync();
            foreach (var socket in clients.Concat(servers))
            {
                socket.Dispose();
            }
        }
    }

    [Theory]
    [InlineData(0, 8 << 20)]
    [InlineData(15, 8 << 20)]
    [InlineData(127, 1 << 20)]
    [InlineData(2047, 64 << 10)]
    [InlineData(100_000, 64 << 10)]
    [InlineData(int.MaxValue - 1, 64 << 10)]
    public void Pipes_shrink_as_connections_grow_so_their_sum_stays_bounded(int others, int expected) =>
        Assert.Equal(expected, LoopbackSplice.PipeSize(8 << 20, others));

    /// <summary>A port nothing in the fresh namespace listens on (the rig's server has an ephemeral one).</summary>
    private const int UnusedPort = 9;

    private static int ThreadCount() => Directory.GetDirectories("/proc/self/task").Length;

    private static async Task<byte[]> SendAndReceiveAsync(Socket socket, byte[] data)
    {
        var receive = ReadToEndAsync(socket);
        for (var sent = 0; sent < data.Length;)
        {
            sent += await socket.SendAsync(data.AsMemory(sent, Math.Min(256 << 10, data.Length - sent)), Token);
        }

        socket.Shutdown(SocketShutdown.Send);
        return await receive;
    }

    internal static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var result = new MemoryStream();
        var buffer = new byte[1 << 16];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, timeout.Token);
            if (n == 0)
            {
                return result.ToArray();
            }

            result.Write(buffer, 0, n);
        }
    }

    internal static async Task<byte[]> ReadAsync(Socket socket, int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = new byte[count];
        for (var got = 0; got < count;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(got), timeout.Token);
            Assert.True(n > 0, "the connection ended early");
            got += n;
        }

        return buffer;
    }

    /// <summary>A namespace with a server on its loopback, a host listener clients are accepted from, and the splice between.</summary>
    internal sealed class Rig : IAsyncDisposable
    {
        private readonly TestNamespace _ns;
        private readonly Socket _hostListener;

        private Rig(TestNamespace ns, Socket listener, LoopbackSplice splice)
        {
            _ns = ns;
            Listener = listener;
            Splice = splice;
            _hostListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _hostListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _hostListener.Listen(512);
        }

        /// <summary>Listens on the namespace's 127.0.0.1 (a port no one on the host has).</summary>
        public Socket Listener { get; }

        public int ServerPort => ((IPEndPoint)Listener.LocalEndPoint!).Port;

        public LoopbackSplice Splice { get; }

        /// <summary>For offers that must be decided at once: a client given back later fails the test.</summary>
        public static ISpliceFallback NoFallback { get; } = new RecordingFallback();

        public string NamespacePath => _ns.Path;

        /// <summary>A listener on the namespace's loopback that never accepts: its backlog fills, and further SYNs go unanswered.</summary>
        public Socket ListenStalled() => ListenInNamespace(_ns.Path, backlog: 0);

        public static async Task<Rig> CreateAsync(int maxConnections = LoopbackSplice.DefaultMaxConnections, int connectTimeoutMs = LoopbackSplice.DefaultConnectTimeoutMs)
        {
            TapTestKit.RequireRoot();
            var ns = await TestNamespace.CreateAsync();
            try
            {
                var listener = ListenInNamespace(ns.Path);
                return new Rig(ns, listener, LoopbackSplice.Open(ns.Path, maxConnections: maxConnections, connectTimeoutMs: connectTimeoutMs));
            }
            catch
            {
                await ns.DisposeAsync();
                throw;
            }
        }

        /// <summary>A client of the host listener, and the accepted end as the user netdev has it (non-blocking, ours).</summary>
        public async Task<int> AcceptOnHostAsync(Socket client)
        {
            await client.ConnectAsync(_hostListener.LocalEndPoint!, Token);
            Span<byte> from = stackalloc byte[128];
            var fd = Libc.Accept((int)_hostListener.SafeHandle.DangerousGetHandle(), from, out _, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
            Assert.True(fd >= 0, Errno.Message(Errno.Last));
            return fd;
        }

        /// <summary>A client spliced to the namespace's server: the client's socket and the server's accepted one.</summary>
        public async Task<(Socket Client, Socket Server)> ConnectAsync()
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var fd = await AcceptOnHostAsync(client);
            Assert.True(Splice.TrySplice(fd, ipv6: false, ServerPort, NoFallback), "the splice refused a client with a server listening");
            var server = await Listener.AcceptAsync(Token);
            return (client, server);
        }

        private static Socket ListenInNamespace(string path, int backlog = 512)
        {
            Socket? listener = null;
            Exception? failure = null;
            var thread = new Thread(() =>
            {
                try
                {
                    var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
                    Assert.True(fd >= 0 && Libc.SetNs(fd, Libc.CLONE_NEWNET) == 0, Errno.Message(Errno.Last));
                    Libc.Close(fd);
                    listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                    listener.Listen(backlog);
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            thread.Start();
            thread.Join();
            return failure is null ? listener! : throw failure;
        }

        public async ValueTask DisposeAsync()
        {
            Splice.Dispose();
            Listener.Dispose();
            _hostListener.Dispose();
            await _ns.DisposeAsync();
        }
    }

    /// <summary>Collects the clients a splice gives back.</summary>
    internal sealed class RecordingFallback : ISpliceFallback
    {
        public System.Collections.Concurrent.ConcurrentQueue<int> Returned { get; } = new();

        public void GiveBack(int fd) => Returned.Enqueue(fd);
    }
}
