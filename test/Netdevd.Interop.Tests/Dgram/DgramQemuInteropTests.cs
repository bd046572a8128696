using System.Net;
using Netdevd.Backends.Dgram;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using static Netdevd.Interop.Tests.Dgram.DgramInteropKit;

namespace Netdevd.Interop.Tests.Dgram;

/// <summary>
/// netdevd's dgram netdev against QEMU's: QEMU forwards between its dgram netdev facing netdevd
/// and a second dgram netdev facing the test's raw socket, so every frame crosses both
/// implementations.
/// </summary>
public sealed class DgramQemuInteropTests
{
    [Fact]
    public async Task Unicast_frames_cross_QEMU_byte_exact_both_ways()
    {
        int qemuSide = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), nd = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        int qemuTest = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), test = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        using var peer = new DatagramFramePeer(new IPEndPoint(IPAddress.Loopback, test), new IPEndPoint(IPAddress.Loopback, qemuTest));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", $"dgram,id=q0,local.type=inet,local.host=127.0.0.1,local.port={qemuSide},remote.type=inet,remote.host=127.0.0.1,remote.port={nd}"),
            ("q1", $"dgram,id=q1,local.type=inet,local.host=127.0.0.1,local.port={qemuTest},remote.type=inet,remote.host=127.0.0.1,remote.port={test}"),
        ]);
        await using var r = NewRegistry();
        await r.AddAsync(DgramNetdev("d0", Inet("127.0.0.1", nd), Inet("127.0.0.1", qemuSide)), NetdevOrigin.Monitor, null, Ct);
        var nic = new CapturingNic("nic0");
        r.AttachNic("d0", nic.Client);

        await CrossBothWays(nic, peer, UdpSizes);
    }

    [Fact]
    public async Task Unix_frames_cross_QEMU_byte_exact_both_ways()
    {
        var dir = HostTools.TempDir();
        string P(string n) => Path.Combine(dir, n);
        using var peer = new DatagramFramePeer(new System.Net.Sockets.UnixDomainSocketEndPoint(P("t")), new System.Net.Sockets.UnixDomainSocketEndPoint(P("q1")));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", $"dgram,id=q0,local.type=unix,local.path={P("q0")},remote.type=unix,remote.path={P("nd")}"),
            ("q1", $"dgram,id=q1,local.type=unix,local.path={P("q1")},remote.type=unix,remote.path={P("t")}"),
        ]);
        await using var r = NewRegistry();
        var client = await r.AddAsync(DgramNetdev("d0", Unix(P("nd")), Unix(P("q0"))), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal($"udp={P("nd")}:{P("q0")}", client.Info);
        var nic = new CapturingNic("nic0");
        r.AttachNic("d0", nic.Client);

        await CrossBothWays(nic, peer, [60, 1514, 9014, 65535]);
    }

    [Fact]
    public async Task Multicast_members_netdevd_and_QEMU_see_each_other()
    {
        var group = RandomGroup();
        var port = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        int qemuTest = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), test = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        using var peer = new DatagramFramePeer(new IPEndPoint(IPAddress.Loopback, test), new IPEndPoint(IPAddress.Loopback, qemuTest));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", $"dgram,id=q0,remote.type=inet,remote.host={group},remote.port={port},local.type=inet,local.host=127.0.0.1,local.port=0"),
            ("q1", $"dgram,id=q1,local.type=inet,local.host=127.0.0.1,local.port={qemuTest},remote.type=inet,remote.host=127.0.0.1,remote.port={test}"),
        ]);
        await using var r = NewRegistry();
        var client = await r.AddAsync(DgramNetdev("d0", Inet("127.0.0.1", 0), Inet(group.ToString(), port)), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal($"mcast={group}:{port}", client.Info);
        var nic = new CapturingNic("nic0");
        r.AttachNic("d0", nic.Client);

        await CrossBothWays(nic, peer, UdpSizes);
    }

    [Fact]
    public async Task Burst_of_100000_frames_through_QEMU_adds_up()
    {
        const int total = 100_000;
        int qemuSide = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), nd = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        int qemuTest = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), test = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        using var sender = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, test));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", $"dgram,id=q0,local.type=inet,local.host=127.0.0.1,local.port={qemuSide},remote.type=inet,remote.host=127.0.0.1,remote.port={nd}"),
            ("q1", $"dgram,id=q1,local.type=inet,local.host=127.0.0.1,local.port={qemuTest},remote.type=inet,remote.host=127.0.0.1,remote.port={test}"),
        ]);
        await using var r = NewRegistry();
        var client = (DatagramNetClient)await r.AddAsync(DgramNetdev("d0", Inet("127.0.0.1", nd), Inet("127.0.0.1", qemuSide)), NetdevOrigin.Monitor, null, Ct);
        var nic = new CapturingNic("nic0", keep: false);
        r.AttachNic("d0", nic.Client);
        long dropsBefore = UdpDrops(qemuTest) + UdpDrops(nd);

        var frame = Frames.Make(60, 1);
        var to = new IPEndPoint(IPAddress.Loopback, qemuTest);
        for (var i = 0; i < total; i++)
        {
            sender.SendTo(frame, to);
        }

        var last = -1L;
        while (nic.Count != last)
        {
            last = nic.Count;
            await Task.Delay(300, Ct);
        }

        var kernelDrops = UdpDrops(qemuTest) + UdpDrops(nd) - dropsBefore;
        Assert.Equal(total, nic.Count + kernelDrops);
        Assert.Equal(nic.Count, client.Counters.Received);
        Assert.True(nic.Count > 0);
    }

    /// <summary>Sends each size from netdevd's NIC to the test socket and back, through QEMU.</summary>
    internal static async Task CrossBothWays(CapturingNic nic, DatagramFramePeer peer, int[] sizes)
    {
        var seq = 0;
        foreach (var size in sizes)
        {
            var outbound = Frames.Make(size, seq++);
            nic.Send(outbound);
            await ExpectFrameAsync(peer, outbound);

            var inbound = Frames.Make(size, seq++);
            await peer.SendAsync(inbound);
            ExpectFrame(nic.Next, inbound);
        }
    }
}
