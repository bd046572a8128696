using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Io;
using Netdevd.Backends.L2tpv3;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Dgram.DgramTestKit;
using static Netdevd.Backends.Tests.Dgram.SocketConditions;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>
/// POLLERR and POLLHUP on a datagram netdev's socket (dgram, socket udp/mcast/fd, vde, l2tpv3
/// share one client): the pending error is read and counted, reading goes on, and a condition
/// that reading cannot clear never spins or sleeps on the I/O thread that other netdevs share.
/// </summary>
public sealed class DatagramErrorConditionTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_refusing_peer_is_counted_and_frames_flow_again_when_it_returns(bool ipRecvErr)
    {
        var gone = ClosedUdpPort();
        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM, 0);
        Assert.Equal(0, Libc.Bind(fd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, 0))));
        Assert.Equal(0, Libc.Connect(fd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, gone))));
        if (ipRecvErr)
        {
            // As a management tool may have set it on a socket it passes with fd=: ICMP errors
            // then also queue on the error queue, which SO_ERROR does not clear.
            Assert.Equal(0, Libc.SetSockOptInt(fd, Libc.IPPROTO_IP, Libc.IP_RECVERR, 1));
        }

        var local = Libc.GetSockName(fd)!.ToIPEndPoint()!;
        await using var r = NewRegistry();
        var number = fd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var client = (DatagramNetClient)await r.AddAsync(DgramNetdev("d0", Fd(number), null), NetdevOrigin.Monitor, null, Ct);
        var nic = new CaptureNic("nic0");
        r.AttachNic("d0", nic.Client);

        // Nobody listens: each datagram is answered with ICMP port unreachable.
        for (var i = 0; i < 5; i++)
        {
            nic.Client.Transmit(Frame(100, i));
            await Task.Delay(30, Ct);
        }

        await Eventually.WaitUntilAsync(() => Refusals(client.Counters) > 0, "the refusals counted");
        Assert.True(await ErrorClears(fd), "the socket still reports POLLERR: its pending error was never read");

        // The peer comes back on its port: frames flow both ways again.
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, gone));
        peer.Connect(local);
        peer.ReceiveTimeout = 5000;
        var fromPeer = Frame(1514, 100);
        peer.Send(fromPeer);
        Assert.Equal(fromPeer, nic.Next());
        var toPeer = Frame(1514, 101);
        nic.Client.Transmit(toPeer);
        var buffer = new byte[2000];
        var n = peer.Receive(buffer);
        Assert.Equal(toPeer, buffer[..n]);
    }

    [Theory]
    [InlineData("dgram")]
    [InlineData("l2tpv3")]
    public async Task A_socket_that_keeps_reporting_a_hang_up_does_not_hold_the_shared_io_thread(string kind)
    {
        // One shared I/O thread for both netdevs, as with --io-threads 1.
        var prefix = $"h5{kind[0]}{Random.Shared.Next(100000, 999999)}";
        var pool = new IoThreadPool(1, prefix);

        var (peer, working, wnic) = WorkingNetdev(pool);
        using var peerSocket = peer;
        await using var workingNetdev = working;

        // A netdev whose socket is shut down under it: POLLHUP (with POLLIN) for good, nothing to read.
        var (broken, brokenFd, pauses) = Broken(kind, pool);
        await using var brokenClient = broken;
        var bnic = new CaptureNic("bnic", keep: false);
        NetClient.Connect(broken, bnic.Client);
        ShutDown(brokenFd);
        await Task.Delay(200, Ct);

        var thread = prefix + "0";
        var cpuBefore = ThreadCpuTicks(thread);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 40; i++)
        {
            peer.Send(Frame(200, i));
            Assert.Equal(i, Seq(wnic.Next(2000)));
            await Task.Delay(25, Ct);
        }

        var cpuMs = (ThreadCpuTicks(thread) - cpuBefore) * 10;
        var elapsedMs = clock.ElapsedMilliseconds;
        Assert.True(cpuMs * 100 < elapsedMs * 30, $"the shared I/O thread used {cpuMs} ms of CPU in {elapsedMs} ms");
        Assert.True(pauses() >= 1, "the lasting condition was not counted");

        var closing = Stopwatch.StartNew();
        await broken.DisposeAsync();
        Assert.True(closing.ElapsedMilliseconds < 2000, $"closing took {closing.ElapsedMilliseconds} ms");
        peer.Send(Frame(200, 99));
        Assert.Equal(99, Seq(wnic.Next(2000)));
    }

    [Fact]
    public async Task A_receiver_that_stops_reading_does_not_hold_the_shared_io_thread()
    {
        var prefix = $"h5w{Random.Shared.Next(100000, 999999)}";
        var pool = new IoThreadPool(1, prefix);
        var (peer, working, wnic) = WorkingNetdev(pool);
        using var peerSocket = peer;
        await using var workingNetdev = working;

        // An unconnected unix datagram socket whose receiver does not read: sendto says EAGAIN
        // while poll keeps saying writable.
        var dir = TempDir();
        using var receiver = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        receiver.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "theirs")));
        var sfd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0);
        Assert.Equal(0, Libc.Bind(sfd, SockAddr.Unix(Path.Combine(dir, "mine"))));
        await using var stalled = new DatagramNetClient("s0", NetClientDriver.Dgram, sfd, SockAddr.Unix(Path.Combine(dir, "theirs")), "s0", pool: pool);
        var snic = new CaptureNic("snic", keep: false);
        NetClient.Connect(stalled, snic.Client);
        const int frames = 200;
        for (var i = 0; i < frames; i++)
        {
            snic.Client.Transmit(Frame(500, i));
        }

        await Task.Delay(100, Ct);

        // The shared thread waits in its poll, not in a sleep (the old behaviour: 1 ms per poll
        // round while sendto said EAGAIN, 479 of 500 looks), and the other netdev's frames still
        // come through. A look may catch it in a short lock wait now and then: allow 1 in 10.
        var blocked = BlockedOutsidePoll(prefix + "0", 500);
        Assert.True(blocked < 50, $"the shared I/O thread was blocked outside its poll at {blocked} of 500 looks");
        for (var i = 0; i < 20; i++)
        {
            peer.Send(Frame(200, 1000 + i));
            Assert.Equal(1000 + i, Seq(wnic.Next(2000)));
        }

        // Once the receiver reads again, the held frames leave.
        receiver.ReceiveTimeout = 5000;
        var buffer = new byte[2048];
        for (var i = 0; i < frames; i++)
        {
            _ = receiver.Receive(buffer);
        }

        await Eventually.WaitUntilAsync(() => stalled.Counters.Sent == frames, $"all {frames} frames sent");
    }

    /// <summary>A netdev that works, on <paramref name="pool"/>: test socket &lt;-&gt; dgram client &lt;-&gt; NIC.</summary>
    internal static (Socket Peer, DatagramNetClient Working, CaptureNic Nic) WorkingNetdev(IoThreadPool pool)
    {
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var wfd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0);
        Assert.Equal(0, Libc.Bind(wfd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, 0))));
        Assert.Equal(0, Libc.Connect(wfd, SockAddr.Inet((IPEndPoint)peer.LocalEndPoint!)));
        peer.Connect(Libc.GetSockName(wfd)!.ToIPEndPoint()!);
        var working = new DatagramNetClient("w0", NetClientDriver.Dgram, wfd, null, "w0", pool: pool);
        var nic = new CaptureNic("wnic");
        NetClient.Connect(working, nic.Client);
        return (peer, working, nic);
    }

    private static long Refusals(DatagramCounters c) => c.SocketErrors + c.ReceiveErrors + c.SendErrors;

    private static (NetClient Client, int Fd, Func<long> Pauses) Broken(string kind, IoThreadPool pool)
    {
        var closed = ClosedUdpPort();
        if (kind == "dgram")
        {
            var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0);
            Assert.Equal(0, Libc.Bind(fd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, 0))));
            var client = new DatagramNetClient("b0", NetClientDriver.Dgram, fd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, closed)), "b0", pool: pool);
            return (client, fd, () => client.Counters.ErrorPauses);
        }

        var config = L2tpv3Config.From(L2tpv3.L2tpv3TestKit.Udp("127.0.0.1", FreeUdpPort(), "127.0.0.1", closed, 7));
        var (l2fd, destination) = L2tpv3SocketSetup.Open(config);
        var l2 = new L2tpv3NetClient("b0", config, l2fd, destination, null, pool);
        return (l2, l2fd, () => l2.Counters.ErrorPauses);
    }
}
