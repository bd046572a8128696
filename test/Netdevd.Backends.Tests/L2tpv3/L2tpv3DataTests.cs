using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.L2tpv3;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;
using static Netdevd.Backends.Tests.L2tpv3.L2tpv3TestKit;

namespace Netdevd.Backends.Tests.L2tpv3;

/// <summary>Two netdevd l2tpv3 endpoints on loopback, each with a NIC, in every encapsulation.</summary>
public sealed class L2tpv3DataTests
{
    private static int FreeUdpPort(AddressFamily family = AddressFamily.InterNetwork)
    {
        using var s = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>A loopback address of its own per test, so raw sockets of parallel tests do not see each other's traffic.</summary>
    private static string PrivateLoopback() => $"127.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(2, 254)}";

    private static async Task Exchange(NetdevL2TPv3Options a, NetdevL2TPv3Options b, int[] sizes, bool sharedAddress = false)
    {
        await using var r = NewRegistry();
        var ca = (L2tpv3NetClient)await r.AddAsync(Netdev("a", a), NetdevOrigin.Monitor, null, Ct);
        var cb = (L2tpv3NetClient)await r.AddAsync(Netdev("b", b), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal("l2tpv3: connected", ca.Info);
        var na = new FrameSink("na");
        var nb = new FrameSink("nb");
        r.AttachNic("a", na.Client);
        r.AttachNic("b", nb.Client);

        var seq = 0;
        foreach (var size in sizes)
        {
            var ab = Frame(size, seq++);
            na.Client.Transmit(ab);
            Assert.Equal(ab, nb.Next());
            var ba = Frame(size, seq++);
            nb.Client.Transmit(ba);
            Assert.Equal(ba, na.Next());
        }

        Assert.Equal(sizes.Length, ca.Counters.Sent);
        Assert.Equal(sizes.Length, cb.Counters.Received);
        Assert.Equal(0, cb.Counters.CookieMismatches + cb.Counters.DroppedShort);
        if (!sharedAddress)
        {
            Assert.Equal(0, cb.Counters.SessionMismatches);
        }
    }

    private static (NetdevL2TPv3Options A, NetdevL2TPv3Options B) UdpPair(bool ipv6)
    {
        var family = ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var host = ipv6 ? "::1" : "127.0.0.1";
        var (pa, pb) = (FreeUdpPort(family), FreeUdpPort(family));
        var a = Udp(host, pa, host, pb, 0x100);
        a.Rxsession = 0x200;
        a.Ipv6 = ipv6;
        var b = Udp(host, pb, host, pa, 0x200);
        b.Rxsession = 0x100;
        b.Ipv6 = ipv6;
        return (a, b);
    }

    private static void Cookies(NetdevL2TPv3Options a, NetdevL2TPv3Options b, bool cookie64)
    {
        (a.Txcookie, a.Rxcookie) = (0x1111222233334444, 0x5555666677778888);
        (b.Txcookie, b.Rxcookie) = (0x5555666677778888, 0x1111222233334444);
        if (cookie64)
        {
            a.Cookie64 = b.Cookie64 = true;
        }
    }

    [Fact]
    public async Task Udp_ipv4_carries_frames_up_to_what_a_datagram_holds()
    {
        var (a, b) = UdpPair(ipv6: false);

        // 65507 bytes of UDP payload minus the 8-byte header: 65499, far beyond QEMU's 16 KiB.
        await Exchange(a, b, [60, 1514, 9014, 16385, 65499]);
    }

    [Fact]
    public async Task Udp_ipv6_with_64_bit_cookies_counter_and_offset()
    {
        var (a, b) = UdpPair(ipv6: true);
        Cookies(a, b, cookie64: true);
        a.Counter = b.Counter = true;
        a.Offset = b.Offset = 16;
        await Exchange(a, b, [60, 1514, 40000]);
    }

    [Fact]
    public async Task Udp_with_32_bit_cookies_and_pinned_counter()
    {
        var (a, b) = UdpPair(ipv6: false);
        Cookies(a, b, cookie64: false);
        a.Counter = b.Counter = true;
        a.Pincounter = b.Pincounter = true;
        await Exchange(a, b, [60, 1514]);
    }

    [Fact]
    public async Task Ip_ipv4_with_32_bit_cookies()
    {
        SkipUnlessRoot();
        var (ha, hb) = (PrivateLoopback(), PrivateLoopback());
        var a = Ip(ha, hb, 0x300);
        a.Rxsession = 0x301;
        var b = Ip(hb, ha, 0x301);
        b.Rxsession = 0x300;
        Cookies(a, b, cookie64: false);
        await Exchange(a, b, [60, 1514, 9014, 60000]);
    }

    [Fact]
    public async Task Ip_ipv6_with_counter_and_offset()
    {
        SkipUnlessRoot();

        // Both ends bind ::1, so each also reads its own datagrams: the session check drops them.
        var a = Ip("::1", "::1", 0x400);
        a.Rxsession = 0x401;
        var b = Ip("::1", "::1", 0x401);
        b.Rxsession = 0x400;
        a.Ipv6 = b.Ipv6 = true;
        a.Counter = b.Counter = true;
        a.Offset = b.Offset = 8;
        await Exchange(a, b, [60, 1514, 9014], sharedAddress: true);
    }

    [Fact]
    public async Task Sent_datagrams_are_header_then_frame_with_counter_from_1()
    {
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerPort = ((IPEndPoint)peer.LocalEndPoint!).Port;
        var o = Udp("127.0.0.1", FreeUdpPort(), "127.0.0.1", peerPort, 0xa1b2c3d4);
        (o.Txcookie, o.Rxcookie) = (0xcafe, 1);
        o.Counter = true;
        o.Offset = 2;
        await using var r = NewRegistry();
        var c = (L2tpv3NetClient)await r.AddAsync(Netdev("l0", o), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal(4 + 4 + 4 + 4 + 2, c.HeaderLength);
        var nic = new FrameSink("n");
        r.AttachNic("l0", nic.Client);

        var buffer = new byte[70000];
        for (uint i = 1; i <= 3; i++)
        {
            var frame = Frame(100, (int)i);
            nic.Client.Transmit(frame);
            var n = peer.Receive(buffer);
            var expected = new byte[18 + 100];
            BinaryPrimitives.WriteUInt32BigEndian(expected, 0x00030000);
            BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(4), 0xa1b2c3d4);
            BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(8), 0xcafe);
            BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(12), i);
            frame.CopyTo(expected, 18);
            Assert.Equal(expected, buffer[..n]);
        }
    }

    [Fact]
    public async Task Bad_datagrams_are_dropped_counted_and_logged_once()
    {
        var port = FreeUdpPort();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var o = Udp("127.0.0.1", port, "127.0.0.1", ((IPEndPoint)peer.LocalEndPoint!).Port, 9);
        (o.Txcookie, o.Rxcookie) = (1, 0x77);
        var log = new LogCapture();
        await using var r = NewRegistry(log);
        var c = (L2tpv3NetClient)await r.AddAsync(Netdev("l0", o), NetdevOrigin.Monitor, null, Ct);
        var nic = new FrameSink("n");
        r.AttachNic("l0", nic.Client);
        var to = new IPEndPoint(IPAddress.Loopback, port);

        static byte[] Datagram(uint session, uint cookie, int payload)
        {
            var d = new byte[12 + payload];
            BinaryPrimitives.WriteUInt32BigEndian(d, 0x00030000);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), session);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(8), cookie);
            d.AsSpan(12).Fill(0xee);
            return d;
        }

        peer.SendTo(Datagram(9, 0x78, 60), to);   // wrong cookie
        peer.SendTo(Datagram(10, 0x77, 60), to);  // wrong session
        peer.SendTo(Datagram(10, 0x78, 60), to);  // both wrong: the cookie is looked at first
        peer.SendTo(Datagram(9, 0x77, 0), to);    // no payload
        var good = Datagram(9, 0x77, 60);
        peer.SendTo(good, to);
        Assert.Equal(good[12..], nic.Next());

        Assert.Equal(2, c.Counters.CookieMismatches);
        Assert.Equal(1, c.Counters.SessionMismatches);
        Assert.Equal(1, c.Counters.DroppedShort);
        Assert.Equal(1, c.Counters.Received);
        Assert.Equal(["netdev l0: unknown cookie id", "netdev l0: l2tpv3 header verification failed"], log.Lines);
    }

    [Fact]
    public async Task Oversized_frames_are_dropped_and_counted()
    {
        var (a, b) = UdpPair(ipv6: false);
        await using var r = NewRegistry();
        var ca = (L2tpv3NetClient)await r.AddAsync(Netdev("a", a), NetdevOrigin.Monitor, null, Ct);
        await r.AddAsync(Netdev("b", b), NetdevOrigin.Monitor, null, Ct);
        var na = new FrameSink("na");
        var nb = new FrameSink("nb");
        r.AttachNic("a", na.Client);
        r.AttachNic("b", nb.Client);
        na.Client.Transmit(Frame(65500, 1));
        Assert.Equal(1, ca.Counters.DroppedOversize);
        var after = Frame(100, 2);
        na.Client.Transmit(after);
        Assert.Equal(after, nb.Next());
    }

    [Fact]
    public async Task Deleting_the_netdev_frees_its_port()
    {
        var (a, _) = UdpPair(ipv6: false);
        await using var r = NewRegistry();
        await r.AddAsync(Netdev("a", a), NetdevOrigin.Monitor, null, Ct);
        await r.DeleteAsync("a", Ct);
        await r.AddAsync(Netdev("a", a), NetdevOrigin.Monitor, null, Ct);
    }

    [Fact]
    public async Task Frames_of_one_drain_reach_the_peer_as_a_batch()
    {
        var (a, b) = UdpPair(ipv6: false);
        await using var r = NewRegistry();
        await r.AddAsync(Netdev("a", a), NetdevOrigin.Monitor, null, Ct);
        var cb = (L2tpv3NetClient)await r.AddAsync(Netdev("b", b), NetdevOrigin.Monitor, null, Ct);
        var na = new FrameSink("na");
        r.AttachNic("a", na.Client);
        var recorder = new BatchRecorder();
        NetClient.Connect(cb, recorder);

        for (var i = 0; i < 20; i++)
        {
            na.Client.Transmit(Frame(1000, i));
        }

        Assert.True(SpinWait.SpinUntil(() => recorder.Frames == 20 && recorder.BatchEnds > 0, TimeSpan.FromSeconds(10)));

        // Every frame came inside a bracket, and each bracket was closed: a receiver such as a
        // tap or a stream writes what one drain delivered together.
        Assert.Equal(0, recorder.OutsideBatch);
        Assert.InRange(recorder.BatchEnds, 1, 20);
    }

    private sealed class BatchRecorder() : NetClient("rec", NetClientDriver.Nic)
    {
        private int _frames;
        private int _outside;
        private int _ends;

        public int Frames => Volatile.Read(ref _frames);

        public int OutsideBatch => Volatile.Read(ref _outside);

        public int BatchEnds => Volatile.Read(ref _ends);

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            if (!InSendBatch)
            {
                Interlocked.Increment(ref _outside);
            }

            Interlocked.Increment(ref _frames);
            return ReceiveResult.Accepted;
        }

        protected override void OnBatchEnd() => Interlocked.Increment(ref _ends);
    }
}
