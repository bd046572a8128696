using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Native;
using Netdevd.Personalities.Pasta;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.Tests.Shared;
using Netdevd.UserNet.Host;
using static Netdevd.Interop.Tests.Personalities.PastaSpliceTests;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// The splice's connects that a namespace listener does not answer (its backlog is full): they
/// are decided on the relay's thread, so the user netdev's thread (and every guest flow on it)
/// never waits for them; a client the listener never answers goes the user netdev's way after the
/// timeout; teardown with connects pending closes everything.
/// </summary>
[Collection(nameof(DescriptorCounting))]
public sealed class PastaSplicePendingTests
{
    private const int Stalled = 4;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_listener_that_never_accepts_does_not_stall_the_user_netdevs_other_forwards()
    {
        // A timeout far longer than the exchanges below: they must all happen while it runs.
        await using var rig = await Rig.CreateAsync(connectTimeoutMs: 20_000);
        using var stalled = rig.ListenStalled();
        var stalledPort = ((IPEndPoint)stalled.LocalEndPoint!).Port;
        var options = new NetdevUserOptions
        {
            Ipv6 = false,
            Hostfwd = [new() { Str = $"tcp:127.0.0.1:0-:{stalledPort}" }, new() { Str = $"tcp:127.0.0.1:0-:{rig.ServerPort}" }],
        };
        var netdev = UserNetClient.Create("u-splice-stall", UserNetConfigParser.Parse(options), TimeProvider.System, NullLogger.Instance);
        netdev.LoopbackSplice = rig.Splice;
        var clients = new List<Socket>();
        try
        {
            var stalledForward = (int)netdev.HostForwards.Single(f => f.GuestPort == stalledPort).HostPort;
            var goodForward = (int)netdev.HostForwards.Single(f => f.GuestPort == rig.ServerPort).HostPort;

            // More clients than the stalled listener's backlog holds: the host's kernel accepts
            // each (the forward's listener has room), the netdev offers each to the splice.
            for (var i = 0; i < Stalled; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, stalledForward, Token);
            }

            // Lets the netdev's thread reach those offers first (ordering only, nothing timed).
            await Task.Delay(200, Token);

            // Meanwhile another forward's connections are accepted and spliced, one after another.
            for (var i = 0; i < 5; i++)
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(IPAddress.Loopback, goodForward, Token);
                using var server = await rig.Listener.AcceptAsync(Token);
                await client.SendAsync("ping"u8.ToArray(), Token);
                Assert.Equal("ping"u8.ToArray(), await ReadAsync(server, 4));
                await server.SendAsync("pong"u8.ToArray(), Token);
                Assert.Equal("pong"u8.ToArray(), await ReadAsync(client, 4));
            }

            // All that happened while the stalled connects were still undecided: a netdev whose
            // thread waited for each of them would only have served the other forward after.
            Assert.True(rig.Splice.PendingConnects > 0, "the stalled connects were decided before the other forward's connections were served");
        }
        finally
        {
            await netdev.DisposeAsync();
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        Assert.Equal(0, rig.Splice.PendingConnects);
    }

    [Fact]
    public async Task A_connect_the_listener_never_answers_gives_the_client_back_after_the_timeout()
    {
        await using var rig = await Rig.CreateAsync(connectTimeoutMs: 300);
        using var stalled = rig.ListenStalled();
        var stalledPort = ((IPEndPoint)stalled.LocalEndPoint!).Port;
        var fallback = new RecordingFallback();
        var clients = new Dictionary<int, Socket>();
        try
        {
            for (var i = 0; i < Stalled; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                var fd = await rig.AcceptOnHostAsync(client);
                clients[fd] = client;

                // Taken at once, whether the listener answered or not: the caller never waits.
                Assert.True(rig.Splice.TrySplice(fd, ipv6: false, stalledPort, fallback));
            }

            for (var i = 0; i < 3000 && rig.Splice.PendingConnects > 0; i++)
            {
                await Task.Delay(10, Token);
            }

            // The backlog took some (spliced, to a server that will accept them some day); the
            // others came back, each once, open and connected to its client.
            Assert.Equal(0, rig.Splice.PendingConnects);
            Assert.NotEmpty(fallback.Returned);
            Assert.Equal(Stalled, rig.Splice.Connections + fallback.Returned.Count);
            Assert.Equal(fallback.Returned.Count, fallback.Returned.Distinct().Count());
            foreach (var fd in fallback.Returned)
            {
                Assert.Equal(1, Libc.Write(fd, "y"u8));
                Assert.Equal((byte)'y', (await ReadAsync(clients[fd], 1))[0]);
                Libc.Close(fd);
            }
        }
        finally
        {
            foreach (var client in clients.Values)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task Closing_the_splice_with_connects_pending_closes_every_descriptor_of_them()
    {
        await using var rig = await Rig.CreateAsync();
        using var stalled = rig.ListenStalled();
        var stalledPort = ((IPEndPoint)stalled.LocalEndPoint!).Port;
        var clients = new List<Socket>();
        var fds = new List<int>();
        try
        {
            // Fill the backlog first, so every offer below stays pending.
            using var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var fillerFd = await rig.AcceptOnHostAsync(filler);
            Assert.True(rig.Splice.TrySplice(fillerFd, ipv6: false, stalledPort, Rig.NoFallback));
            for (var i = 0; i < Stalled; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                fds.Add(await rig.AcceptOnHostAsync(client));
            }

            // A splice of its own, so that what it opened and closed is all that changes; taken
            // once the rig's splice has topped up its pool of namespace sockets (its thread does
            // that after the filler took one, later on a loaded machine).
            var before = await OwnDescriptors.SettledAsync();
            var fallback = new RecordingFallback();
            var splice = LoopbackSplice.Open(rig.NamespacePath, connectTimeoutMs: 60_000);
            foreach (var fd in fds)
            {
                Assert.True(splice.TrySplice(fd, ipv6: false, stalledPort, fallback));
            }

            for (var i = 0; i < 500 && splice.PendingConnects < Stalled; i++)
            {
                await Task.Delay(10, Token);
            }

            Assert.Equal(Stalled, splice.PendingConnects);

            // The check below sees what the splice holds: a socket in the namespace per connect.
            var holding = OwnDescriptors.Take().OpenedSince(before);
            Assert.True(holding.Count(d => d.Contains("socket:", StringComparison.Ordinal)) >= Stalled, string.Join(", ", holding));
            splice.Dispose();

            // Nothing given back (the netdev that would take them is closing), nothing left open:
            // the clients' descriptors and the namespace's sockets are closed.
            Assert.Empty(fallback.Returned);
            Assert.Equal(0, splice.PendingConnects);
            Assert.Empty(await OwnDescriptors.LeftOpenAsync(before, fds));
            foreach (var client in clients)
            {
                try
                {
                    Assert.Empty(await ReadToEndAsync(client));
                }
                catch (SocketException e)
                {
                    Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
                }
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
