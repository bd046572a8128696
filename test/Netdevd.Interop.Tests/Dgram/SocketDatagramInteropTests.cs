using System.Net;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using static Netdevd.Interop.Tests.Dgram.DgramInteropKit;

namespace Netdevd.Interop.Tests.Dgram;

/// <summary>
/// The legacy socket netdev's datagram modes (udp=, mcast=) against QEMU's. Until the socket
/// factory lands these build netdevd's side as that factory will: the shared socket helpers and
/// <see cref="DatagramNetClient"/>.
/// </summary>
public sealed class SocketDatagramInteropTests
{
    [Fact]
    public async Task Socket_udp_frames_cross_QEMU_byte_exact_both_ways()
    {
        int qemuSide = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), nd = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        int qemuTest = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), test = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        using var peer = new DatagramFramePeer(new IPEndPoint(IPAddress.Loopback, test), new IPEndPoint(IPAddress.Loopback, qemuTest));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", $"socket,id=q0,udp=127.0.0.1:{nd},localaddr=127.0.0.1:{qemuSide}"),
            ("q1", $"socket,id=q1,udp=127.0.0.1:{test},localaddr=127.0.0.1:{qemuTest}"),
        ]);

        var remote = Ipv4HostPort.Parse($"127.0.0.1:{qemuSide}");
        var fd = UdpSockets.CreateBound(Ipv4HostPort.Parse($"127.0.0.1:{nd}"));
        await using var client = new DatagramNetClient("s0", NetClientDriver.Socket, fd, SockAddr.Inet(remote), $"socket: udp={Ipv4HostPort.Format(remote)}");
        var nic = new CapturingNic("nic0");
        NetClient.Connect(client, nic.Client);

        await DgramQemuInteropTests.CrossBothWays(nic, peer, UdpSizes);
    }

    [Fact]
    public async Task Socket_mcast_frames_cross_QEMU_byte_exact_both_ways()
    {
        var group = new IPEndPoint(RandomGroup(), HostTools.FreePort(System.Net.Sockets.SocketType.Dgram));
        int qemuTest = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram), test = HostTools.FreePort(System.Net.Sockets.SocketType.Dgram);
        using var peer = new DatagramFramePeer(new IPEndPoint(IPAddress.Loopback, test), new IPEndPoint(IPAddress.Loopback, qemuTest));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", $"socket,id=q0,mcast={group},localaddr=127.0.0.1"),
            ("q1", $"socket,id=q1,udp=127.0.0.1:{test},localaddr=127.0.0.1:{qemuTest}"),
        ]);

        var fd = MulticastSockets.Create(group, IPAddress.Loopback);
        await using var client = new DatagramNetClient("s0", NetClientDriver.Socket, fd, SockAddr.Inet(group), $"socket: mcast={Ipv4HostPort.Format(group)}");
        var nic = new CapturingNic("nic0");
        NetClient.Connect(client, nic.Client);

        await DgramQemuInteropTests.CrossBothWays(nic, peer, UdpSizes);
    }
}
