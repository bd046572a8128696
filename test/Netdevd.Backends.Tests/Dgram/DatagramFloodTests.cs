using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Io;
using Netdevd.Backends.Tests.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Dgram.DgramTestKit;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>
/// A far end that sends datagrams faster than the netdev's receiver takes them (dgram, socket
/// udp/mcast, vde and l2tpv3 share this reader): the netdevs beside it on its I/O thread still
/// move frames, and closing one of them still completes.
/// </summary>
public sealed class DatagramFloodTests
{
    [Fact]
    public async Task A_flooded_dgram_netdev_does_not_starve_another_on_its_io_thread_nor_hold_up_its_close()
    {
        // One shared I/O thread for both netdevs, as with --io-threads 1.
        var pool = new IoThreadPool(1, $"dfl{Random.Shared.Next(100000, 999999)}");
        var (peer, working, wnic) = DatagramErrorConditionTests.WorkingNetdev(pool);
        using var peerSocket = peer;
        await using var workingNetdev = working;

        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0);
        Assert.Equal(0, Libc.Bind(fd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, 0))));
        var local = Libc.GetSockName(fd)!.ToIPEndPoint()!;
        Flooder.DeepenBuffer(fd, send: false);
        await using var flooded = new DatagramNetClient("f0", NetClientDriver.Dgram, fd, null, "f0", pool: pool);
        await using var slow = new SlowReceiver("slow");
        NetClient.Connect(flooded, slow);

        using var floodSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        floodSocket.Connect(local);
        floodSocket.Blocking = false;
        var frame = Frame(60, 0);
        using var flood = new Flooder("dgram-flood", () =>
        {
            // A full receive buffer drops datagrams, as it would on the wire; keep sending.
            _ = floodSocket.Send(frame, SocketFlags.None, out _);
            return true;
        });
        await Eventually.WaitUntilAsync(() => slow.Count > 100, "the flood reaching the slow receiver");

        // The other netdev's frames still come through, one after the other, while the flood goes on.
        for (var i = 0; i < 20; i++)
        {
            peer.Send(Frame(200, i));
            Assert.Equal(i, Seq(wnic.Next(5000)));
        }

        // Closing it waits for the shared thread to pass a barrier (netdev_del, under the registry's gate);
        // off the test's thread, since a close that hangs hangs its caller.
        await Task.Run(() => working.DisposeAsync().AsTask(), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await Task.Run(() => flooded.DisposeAsync().AsTask(), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }
}
