using System.Net;
using System.Net.Sockets;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using static Netdevd.Interop.Tests.L2tpv3.L2tpv3InteropKit;

namespace Netdevd.Interop.Tests.L2tpv3;

/// <summary>
/// netdevd's l2tpv3 against QEMU 7.2's: QEMU forwards between its l2tpv3 netdev (the far end of
/// netdevd's tunnel) and a dgram netdev facing the test's socket, so every frame crosses both
/// implementations of the encapsulation; and QEMU's datagrams are compared with netdevd's
/// byte for byte.
/// </summary>
public sealed class L2tpv3QemuInteropTests
{
    private const ulong Cookie64A = 0x0123456789abcdef;
    private const ulong Cookie64B = 0xfedcba9876543210;

    // QEMU compares a received 32-bit cookie with the whole 64-bit rxcookie, so with 32-bit
    // cookies it only ever matches values that fit in 32 bits (netdevd compares the low half).
    private static ulong CookieA(L2tpv3Variant v) => v.CookieBits == 64 ? Cookie64A : 0x89abcdef;

    private static ulong CookieB(L2tpv3Variant v) => v.CookieBits == 64 ? Cookie64B : 0x76543210;

    private static readonly L2tpv3Variant[] All =
    [
        new L2tpv3Variant(Udp: true, Ipv6: false, CookieBits: 0, Counter: false, PinCounter: false, Offset: 0),
        new L2tpv3Variant(Udp: true, Ipv6: false, CookieBits: 32, Counter: true, PinCounter: false, Offset: 0),
        new L2tpv3Variant(Udp: true, Ipv6: false, CookieBits: 64, Counter: true, PinCounter: true, Offset: 8),
        new L2tpv3Variant(Udp: true, Ipv6: true, CookieBits: 64, Counter: false, PinCounter: false, Offset: 0),
        new L2tpv3Variant(Udp: true, Ipv6: false, CookieBits: 0, Counter: false, PinCounter: true, Offset: 0),
        new L2tpv3Variant(Udp: false, Ipv6: false, CookieBits: 0, Counter: false, PinCounter: false, Offset: 0),
        new L2tpv3Variant(Udp: false, Ipv6: false, CookieBits: 32, Counter: true, PinCounter: false, Offset: 4),
        new L2tpv3Variant(Udp: false, Ipv6: false, CookieBits: 64, Counter: true, PinCounter: false, Offset: 0),
        new L2tpv3Variant(Udp: false, Ipv6: true, CookieBits: 32, Counter: true, PinCounter: false, Offset: 0)
    ];

    public static TheoryData<L2tpv3Variant> Variants() => new(All);

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Frames_cross_QEMUs_l2tpv3_byte_exact_both_ways(L2tpv3Variant v)
    {
        Assert.SkipWhen(!v.Udp && !HostTools.IsRoot, "IP encapsulation needs raw sockets (CAP_NET_RAW): run as root");
        var (qemuHost, ndHost) = v.Ipv6 ? ("::1", "::1") : v.Udp ? ("127.0.0.1", "127.0.0.1") : (PrivateLoopback(), PrivateLoopback());
        int qemuPort = FreeUdpPort(v.Ipv6), ndPort = FreeUdpPort(v.Ipv6);
        int qemuTest = HostTools.FreePort(SocketType.Dgram), test = HostTools.FreePort(SocketType.Dgram);
        using var peer = new DatagramFramePeer(new IPEndPoint(IPAddress.Loopback, test), new IPEndPoint(IPAddress.Loopback, qemuTest));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", QemuSpec("q0", v, qemuHost, qemuPort, ndHost, ndPort, 0x1001, 0x2002, CookieA(v), CookieB(v))),
            ("q1", $"dgram,id=q1,local.type=inet,local.host=127.0.0.1,local.port={qemuTest},remote.type=inet,remote.host=127.0.0.1,remote.port={test}"),
        ]);
        await using var r = NewRegistry();
        await r.AddAsync(NetdevdSpec("l0", v, ndHost, ndPort, qemuHost, qemuPort, 0x2002, 0x1001, CookieB(v), CookieA(v)), NetdevOrigin.Monitor, null, Ct);
        var nic = new L2tpv3Nic("nic0");
        r.AttachNic("l0", nic.Client);

        // QEMU 7.2 reads l2tpv3 frames into 2 KiB buffers (9.1: 16 KiB) and cuts larger ones,
        // so frames stay at or below that here.
        var seq = 0;
        foreach (var size in new[] { 60, 1514, 2048 })
        {
            var toQemu = Frames.Make(size, seq++);
            nic.Client.Transmit(toQemu);
            Assert.Equal(toQemu, await peer.ReceiveAsync(TimeSpan.FromSeconds(5)));

            var fromQemu = Frames.Make(size, seq++);
            await peer.SendAsync(fromQemu);
            Assert.Equal(fromQemu, nic.Next());
        }
    }

    /// <summary>The UDP variants: their datagrams can be captured without privileges.</summary>
    public static TheoryData<L2tpv3Variant> UdpVariants() => new(All.Where(v => v.Udp));

    [Theory]
    [MemberData(nameof(UdpVariants))]
    public async Task Datagrams_are_byte_identical_to_QEMUs(L2tpv3Variant v)
    {
        var host = v.Ipv6 ? "::1" : "127.0.0.1";
        var family = v.Ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var loop = v.Ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        using var capture = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        capture.Bind(new IPEndPoint(loop, 0));
        var capturePort = ((IPEndPoint)capture.LocalEndPoint!).Port;
        int qemuTest = HostTools.FreePort(SocketType.Dgram), test = HostTools.FreePort(SocketType.Dgram);
        using var peer = new DatagramFramePeer(new IPEndPoint(IPAddress.Loopback, test), new IPEndPoint(IPAddress.Loopback, qemuTest));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", QemuSpec("q0", v, host, FreeUdpPort(v.Ipv6), host, capturePort, 0xa0b0c0d0, 1, CookieA(v), CookieB(v))),
            ("q1", $"dgram,id=q1,local.type=inet,local.host=127.0.0.1,local.port={qemuTest},remote.type=inet,remote.host=127.0.0.1,remote.port={test}"),
        ]);
        await using var r = NewRegistry();
        var client = (Netdevd.Backends.L2tpv3.L2tpv3NetClient)await r.AddAsync(
            NetdevdSpec("l0", v, host, FreeUdpPort(v.Ipv6), host, capturePort, 0xa0b0c0d0, 1, CookieA(v), CookieB(v)), NetdevOrigin.Monitor, null, Ct);
        var nic = new L2tpv3Nic("nic0");
        r.AttachNic("l0", nic.Client);

        // QEMU leaves the offset padding uninitialised: compare the header without it.
        var compared = client.HeaderLength - v.Offset;
        var buffer = new byte[70000];
        for (var i = 1; i <= 3; i++)
        {
            var frame = Frames.Make(200, i);
            await peer.SendAsync(frame);
            var fromQemu = await ReceiveAsync(capture, buffer);
            nic.Client.Transmit(frame);
            var fromNetdevd = await ReceiveAsync(capture, buffer);
            Assert.Equal(fromQemu.Length, fromNetdevd.Length);
            Assert.Equal(fromQemu[..compared], fromNetdevd[..compared]);
            Assert.Equal(frame, fromQemu[client.HeaderLength..]);
            Assert.Equal(frame, fromNetdevd[client.HeaderLength..]);
        }
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket, byte[] buffer)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return buffer[..n];
    }
}
