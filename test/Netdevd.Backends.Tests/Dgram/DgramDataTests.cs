using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Dgram;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Dgram.DgramTestKit;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>Frames through a dgram netdev between a NIC and a .NET socket, in process.</summary>
public sealed class DgramDataTests
{
    private static readonly int[] Sizes = [60, 1514, 9014, 65507];

    [Fact]
    public async Task Inet_pair_carries_frames_byte_exact_both_ways()
    {
        var mine = FreeUdpPort();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerEp = (IPEndPoint)peer.LocalEndPoint!;
        await using var r = NewRegistry();
        var client = (DatagramNetClient)await r.AddAsync(DgramNetdev("d0", Inet("127.0.0.1", mine.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inet(peerEp)), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal($"udp=127.0.0.1:{mine}/127.0.0.1:{peerEp.Port}", client.Info);
        var nic = new CaptureNic("nic0");
        r.AttachNic("d0", nic.Client);

        var buffer = new byte[70000];
        var seq = 0;
        foreach (var size in Sizes)
        {
            var toPeer = Frame(size, seq++);
            nic.Client.Transmit(toPeer);
            var n = peer.Receive(buffer);
            Assert.Equal(toPeer, buffer[..n]);

            var fromPeer = Frame(size, seq++);
            peer.SendTo(fromPeer, new IPEndPoint(IPAddress.Loopback, mine));
            Assert.Equal(fromPeer, nic.Next());
        }

        Assert.Equal(4, client.Counters.Sent);
        Assert.Equal(4, client.Counters.Received);
    }

    [Fact]
    public async Task Oversized_and_empty_frames_are_dropped_and_counted()
    {
        var mine = FreeUdpPort();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var r = NewRegistry();
        var client = (DatagramNetClient)await r.AddAsync(DgramNetdev("d0", Inet("127.0.0.1", mine.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inet((IPEndPoint)peer.LocalEndPoint!)), NetdevOrigin.Monitor, null, Ct);
        var nic = new CaptureNic("nic0");
        r.AttachNic("d0", nic.Client);

        nic.Client.Transmit(Frame(65508, 1));
        nic.Client.Transmit(Frame(65535, 2));
        nic.Client.Transmit([]);
        Assert.Equal(2, client.Counters.DroppedOversize);
        Assert.Equal(1, client.Counters.DroppedEmptySend);

        // An empty datagram is dropped, and (unlike QEMU) the netdev keeps reading.
        var to = new IPEndPoint(IPAddress.Loopback, mine);
        peer.SendTo(Array.Empty<byte>(), to);
        var after = Frame(100, 3);
        peer.SendTo(after, to);
        Assert.Equal(after, nic.Next());
        Assert.Equal(1, client.Counters.DroppedEmpty);
    }

    [Fact]
    public async Task Unix_pair_removes_a_stale_socket_file_and_carries_frames()
    {
        var dir = TempDir();
        var mine = Path.Combine(dir, "netdevd.sock");
        var theirs = Path.Combine(dir, "test.sock");
        File.WriteAllText(mine, "stale");
        using var peer = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        peer.Bind(new UnixDomainSocketEndPoint(theirs));
        await using var r = NewRegistry();
        var client = await r.AddAsync(DgramNetdev("d0", Unix(mine), Unix(theirs)), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal($"udp={mine}:{theirs}", client.Info);
        var nic = new CaptureNic("nic0");
        r.AttachNic("d0", nic.Client);

        var buffer = new byte[70000];
        var seq = 0;
        foreach (var size in new[] { 60, 1514, 9014, 65535 })
        {
            var toPeer = Frame(size, seq++);
            nic.Client.Transmit(toPeer);
            var n = peer.Receive(buffer);
            Assert.Equal(toPeer, buffer[..n]);

            var fromPeer = Frame(size, seq++);
            peer.SendTo(fromPeer, new UnixDomainSocketEndPoint(mine));
            Assert.Equal(fromPeer, nic.Next());
        }

        await r.DeleteAsync("d0", Ct);
        Assert.True(File.Exists(mine)); // as QEMU: the socket file stays
    }

    [Fact]
    public async Task Fd_mode_sends_on_the_connected_descriptor_by_number_and_by_name()
    {
        foreach (var byName in new[] { false, true })
        {
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM, 0);
            Assert.True(Libc.Bind(fd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, 0))) == 0);
            Assert.True(Libc.Connect(fd, SockAddr.Inet((IPEndPoint)peer.LocalEndPoint!)) == 0);
            var fdEp = Libc.GetSockName(fd)!.ToIPEndPoint()!;
            peer.Connect(fdEp);

            await using var r = NewRegistry();
            var number = fd.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var client = byName
                ? await r.AddAsync(DgramNetdev("d0", Fd("passed"), null), NetdevOrigin.Monitor, new FakeMonitorFds(new() { ["passed"] = fd }), Ct)
                : await r.AddAsync(DgramNetdev("d0", Fd(number), null), NetdevOrigin.Monitor, null, Ct);
            Assert.Equal($"fd={fd} inet", client.Info);
            var nic = new CaptureNic("nic0");
            r.AttachNic("d0", nic.Client);

            var toPeer = Frame(1514, 1);
            nic.Client.Transmit(toPeer);
            var buffer = new byte[70000];
            var n = peer.Receive(buffer);
            Assert.Equal(toPeer, buffer[..n]);

            var fromPeer = Frame(9014, 2);
            peer.Send(fromPeer);
            Assert.Equal(fromPeer, nic.Next());
        }
    }

    [Fact]
    public async Task Multicast_members_on_one_host_see_each_other_and_their_own_echo()
    {
        var group = RandomGroup();
        var port = FreeUdpPort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var r = NewRegistry();

        // local.host=127.0.0.1: join and send on loopback only.
        var a = await r.AddAsync(DgramNetdev("a", Inet("127.0.0.1", "0"), Inet(group.ToString(), port)), NetdevOrigin.Monitor, null, Ct);
        await r.AddAsync(DgramNetdev("b", Inet("127.0.0.1", "0"), Inet(group.ToString(), port)), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal($"mcast={group}:{port}", a.Info);
        var nicA = new CaptureNic("nicA");
        var nicB = new CaptureNic("nicB");
        r.AttachNic("a", nicA.Client);
        r.AttachNic("b", nicB.Client);

        var f = Frame(1514, 7);
        nicA.Client.Transmit(f);
        Assert.Equal(f, nicB.Next());
        Assert.Equal(f, nicA.Next()); // QEMU does not filter its own echo either
    }

    [Fact]
    public async Task Two_instances_talk_to_each_other()
    {
        var pa = FreeUdpPort();
        var pb = FreeUdpPort();
        await using var ra = NewRegistry();
        await using var rb = NewRegistry();
        await ra.AddAsync(DgramNetdev("d", Inet("127.0.0.1", pa.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inet("127.0.0.1", pb.ToString(System.Globalization.CultureInfo.InvariantCulture))), NetdevOrigin.Monitor, null, Ct);
        await rb.AddAsync(DgramNetdev("d", Inet("127.0.0.1", pb.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inet("127.0.0.1", pa.ToString(System.Globalization.CultureInfo.InvariantCulture))), NetdevOrigin.Monitor, null, Ct);
        var nicA = new CaptureNic("a");
        var nicB = new CaptureNic("b");
        ra.AttachNic("d", nicA.Client);
        rb.AttachNic("d", nicB.Client);

        var seq = 0;
        foreach (var size in Sizes)
        {
            var ab = Frame(size, seq++);
            nicA.Client.Transmit(ab);
            Assert.Equal(ab, nicB.Next());
            var ba = Frame(size, seq++);
            nicB.Client.Transmit(ba);
            Assert.Equal(ba, nicA.Next());
        }
    }

    [Fact]
    public async Task Burst_of_100000_frames_adds_up()
    {
        const int total = 100_000;
        var mine = FreeUdpPort();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var r = NewRegistry();
        var client = (DatagramNetClient)await r.AddAsync(DgramNetdev("d0", Inet("127.0.0.1", mine.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inet((IPEndPoint)peer.LocalEndPoint!)), NetdevOrigin.Monitor, null, Ct);
        var nic = new CaptureNic("nic0", keep: false);
        r.AttachNic("d0", nic.Client);

        var to = new IPEndPoint(IPAddress.Loopback, mine);
        var frame = Frame(60, 0);
        for (var i = 0; i < total; i++)
        {
            peer.SendTo(frame, to);
        }

        // A last frame after a pause carries the kernel's final drop count (SO_RXQ_OVFL).
        await WaitQuiet(nic);
        peer.SendTo(frame, to);
        await Eventually.WaitUntilAsync(() => nic.Count + client.Counters.KernelDropped >= total + 1, "every frame received or counted as dropped by the kernel");

        Assert.Equal(total + 1, nic.Count + client.Counters.KernelDropped);
        Assert.Equal(nic.Count, client.Counters.Received);
    }

    internal static async Task WaitQuiet(CaptureNic nic)
    {
        var last = -1L;
        while (nic.Count != last)
        {
            last = nic.Count;
            await Task.Delay(200, Ct);
        }
    }
}
