using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Tests.Ipv6;
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
    public async Task A_batch_of_guest_segments_arms_no_service_tick_its_end_answers_them()
    {
        var time = new CountingTimeProvider();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = UserNetClient.Create("u-batch", UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6 = false }), time, NullLogger.Instance);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            using var accepted = await OpenTcpAsync(guest, listener);
            var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
            var synAck = await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));
            var ackNumber = synAck.Sequence + 1;

            // What the handshake armed (its retransmission timeout, 1 s) lies beyond the 200 ms watched below.
            var before = time.Fired;

            // Two segments in one batch of the sender: the connection is answered once at the
            // batch's end; nothing is left for a timer.
            guest.InjectBatch(
                GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1001, ackNumber, TcpFlags.Ack | TcpFlags.Psh, "abc"u8.ToArray()),
                GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1004, ackNumber, TcpFlags.Ack | TcpFlags.Psh, "def"u8.ToArray()));
            await guest.WaitForTcpAsync((flags, length) => length == 0 && flags == TcpFlags.Ack);
            var received = new byte[6];
            var n = 0;
            while (n < received.Length)
            {
                n += await accepted.ReceiveAsync(received.AsMemory(n), TestContext.Current.CancellationToken);
            }

            Assert.Equal("abcdef"u8.ToArray(), received);
            for (var i = 0; i < 20; i++)
            {
                time.Fake.Advance(TimeSpan.FromMilliseconds(10));
            }

            // The old stack armed its 10 ms service tick for the batch's deferred connections on
            // every batch, and the tick then woke the netdev's I/O thread for nothing.
            Assert.Equal(0, time.Fired - before);
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_host_sender_writing_into_a_full_flow_does_not_wake_the_netdevs_io_thread_per_write()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var io = new CountingIoThread();
        var client = UserNetClient.Create("u-busy", UserNetConfigParser.Parse(new NetdevUserOptions { Ipv6 = false }), TimeProvider.System, NullLogger.Instance, ioThread: io);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            using var accepted = await OpenTcpAsync(guest, listener);
            accepted.NoDelay = true;

            // The guest never acknowledges: the netdev reads until its buffer for the guest is
            // full, and the rest waits in its host socket.
            const int Ring = 512 * 1024;
            accepted.Send(new byte[Ring + (64 * 1024)]);
            for (var i = 0; i < 2000 && QueuedToGuest(client) < Ring; i++)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            Assert.Equal(Ring, QueuedToGuest(client));

            // Each write lands in the netdev's socket, which has nothing to do with it until the
            // guest makes room: an edge-triggered registration reported every one of them and
            // woke the I/O thread each time.
            const int Writes = 40;
            var before = io.WakeUps;
            for (var i = 0; i < Writes; i++)
            {
                accepted.Send(new byte[1000]);
                await Task.Delay(5, TestContext.Current.CancellationToken);
            }

            var wakeUps = io.WakeUps - before;
            Assert.True(wakeUps < Writes / 8, $"{Writes} host writes into a full flow woke the netdev's I/O thread {wakeUps} times");
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
            io.Dispose();
        }
    }

    private static long QueuedToGuest(UserNetClient client) => client.QueryState().Flows.Sum(f => f.QueuedToGuest);

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

    [Fact]
    public async Task What_a_host_sends_after_a_read_that_took_everything_and_its_close_still_reach_the_guest()
    {
        // Each byte is read by a read that gets less than it asked for: the socket is taken as
        // drained, with no read to hear EAGAIN, and its registration armed for input instead.
        // Data and the close that come later must still be heard.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = UserNetClient.Create("u-short", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            using var accepted = await OpenTcpAsync(guest, listener);
            accepted.NoDelay = true;
            var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
            const int Exchanges = 20;
            for (var i = 0; i < Exchanges; i++)
            {
                accepted.Send([(byte)i]);
                var (sequence, _, _) = await guest.WaitForTcpAsync((_, length) => length == 1, skip: i);
                guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1001, sequence + 1, TcpFlags.Ack));
            }

            // The close that follows the last byte, the stream's end after a drained read.
            accepted.Shutdown(SocketShutdown.Send);
            await guest.WaitForTcpAsync((flags, _) => (flags & TcpFlags.Fin) != 0);
            var bytes = new SortedDictionary<uint, byte>();
            foreach (var (frame, _, _, _) in guest.Received)
            {
                if (GuestPeer.TryTcp(frame, out TcpPacket tcp) && tcp.Payload.Length > 0)
                {
                    bytes[tcp.SequenceNumber] = tcp.Payload[0];
                }
            }

            Assert.Equal(Enumerable.Range(0, Exchanges).Select(i => (byte)i), bytes.Values);
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_batch_of_icmpv6_echoes_to_a_host_address_is_all_answered_from_the_netdevs_own_io_thread()
    {
        var target = HostIpv6Address();
        Assert.SkipWhen(target is null, "this host has no IPv6 address besides loopback and link-local ones to ping");
        Assert.SkipUnless(CanOpenIcmpv6Socket(), "no ICMPv6 ping socket (net.ipv4.ping_group_range) and no raw socket (root)");
        var client = UserNetClient.Create("u-ping6", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance);
        var guest = new GuestPeer();
        NetClient.Connect(client, guest);
        try
        {
            // One burst, faster than replies come back: more than one read batch of the host socket.
            const int Count = 150;
            for (var seq = 1; seq <= Count; seq++)
            {
                guest.Inject(Guest6Frames.Ping(target!.Value, id: 0x77, seq: (ushort)seq));
            }

            var replies = await WaitForEchoRepliesAsync(guest, Count);
            Assert.Equal(Enumerable.Range(1, Count), replies.Select(r => (int)r.Sequence).Order());
            Assert.All(replies, r => Assert.Equal(target, r.Source));
            Assert.All(replies, r => Assert.False(r.PoolThread, "an echo reply was delivered from a thread-pool thread"));
            Assert.Single(replies.Select(r => r.ThreadId).Distinct());
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    /// <summary>An address of this host other than loopback and link-local (the kernel answers pings of it itself).</summary>
    private static Ipv6Address? HostIpv6Address()
    {
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var a = unicast.Address;
                if (a.AddressFamily == AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal && !a.IsIPv4MappedToIPv6
                    && Ipv6Address.TryParse(a.ToString(), out var address))
                {
                    return address;
                }
            }
        }

        return null;
    }

    private static bool CanOpenIcmpv6Socket()
    {
        foreach (var type in (SocketType[])[SocketType.Dgram, SocketType.Raw])
        {
            try
            {
                using var probe = new Socket(AddressFamily.InterNetworkV6, type, ProtocolType.IcmpV6);
                return true;
            }
            catch (SocketException)
            {
            }
        }

        return false;
    }

    /// <summary>Waits (bounded, not timed) for <paramref name="count"/> ICMPv6 echo replies to the guest.</summary>
    private static async Task<List<(ushort Sequence, Ipv6Address Source, int ThreadId, bool PoolThread)>> WaitForEchoRepliesAsync(GuestPeer guest, int count)
    {
        var replies = new List<(ushort, Ipv6Address, int, bool)>();
        for (var i = 0; i < 2000 && replies.Count < count; i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
            replies.Clear();
            foreach (var (frame, thread, pool, _) in guest.Received)
            {
                if (EthernetFrame.TryCreate(frame, out var eth) && eth.EtherType == EtherType.Ipv6 && Ipv6Packet.TryCreate(eth.Payload, out var ip)
                    && ip.NextHeader == IpProtocol.Icmpv6 && Icmpv6Packet.TryCreate(ip.Payload, out var icmp) && icmp.Header.Type == Icmpv6Packet.TypeEchoReply)
                {
                    Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
                    Assert.Equal((ushort)0x77, icmp.Header.Identifier);
                    replies.Add((icmp.Header.SequenceNumber, ip.Source, thread, pool));
                }
            }
        }

        Assert.True(replies.Count == count, $"{replies.Count} of {count} echo replies reached the guest");
        return replies;
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
