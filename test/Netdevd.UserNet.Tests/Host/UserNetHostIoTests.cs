using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// The user netdev's host side against real loopback sockets: one I/O thread of its own for host
/// sockets and timers, and a timer armed only for the earliest deadline.
/// </summary>
[Collection(nameof(UserNetHostIoTests))]
[CollectionDefinition(nameof(UserNetHostIoTests), DisableParallelization = true)]
public sealed class UserNetHostIoTests
{
    private const ushort GuestPort = 40000;

    [Fact]
    public async Task An_idle_netdev_with_open_tcp_and_udp_flows_wakes_no_timer()
    {
        var time = new CountingTimeProvider();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var client = UserNetClient.Create("u-idle", UserNetConfigParser.Parse(new NetdevUserOptions()), time, NullLogger.Instance);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            using var accepted = await OpenTcpAsync(guest, listener);
            guest.Inject(GuestFrames.Udp(GuestFrames.Host, GuestPort + 1, (ushort)((IPEndPoint)udp.Client.LocalEndPoint!).Port, "hello"u8.ToArray()));
            await udp.ReceiveAsync(TestContext.Current.CancellationToken);

            // Three seconds of an idle netdev, in 10 ms steps: the old 10 ms tick fired 300 times;
            // now only a deadline armed during the handshake may fire, once.
            var before = time.Fired;
            for (var i = 0; i < 300; i++)
            {
                time.Fake.Advance(TimeSpan.FromMilliseconds(10));
            }

            var wakeUps = time.Fired - before;
            Assert.True(wakeUps <= 2, $"the timer fired {wakeUps} times in 3 s of idleness with 2 flows open");
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task Host_data_reaches_the_guest_from_the_netdevs_own_io_thread_not_the_thread_pool()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = UserNetClient.Create("u-thread", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            using var accepted = await OpenTcpAsync(guest, listener);
            for (var i = 0; i < 8; i++)
            {
                accepted.Send(new byte[1000]);
                await guest.WaitForTcpAsync((_, length) => length > 0, skip: i);
            }

            var data = guest.Received.Where(r => GuestPeer.TryTcp(r.Frame, out _, out _, out var n) && n > 0).ToList();
            Assert.NotEmpty(data);
            Assert.All(data, r => Assert.False(r.PoolThread, "host data was delivered from a thread-pool thread"));
            Assert.Single(data.Select(r => r.ThreadId).Distinct());
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    /// <summary>Guest SYN to 10.0.2.2:port, the netdev connects to the listener, the guest completes the handshake.</summary>
    private static async Task<Socket> OpenTcpAsync(GuestPeer guest, TcpListener listener)
    {
        var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1000, 0, TcpFlags.Syn));
        var accepted = await listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
        var synAck = await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));
        guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1001, synAck.Sequence + 1, TcpFlags.Ack));
        return accepted;
    }
}
