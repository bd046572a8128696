using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Io;
using Netdevd.Backends.Tests.Io;
using Netdevd.Core.Clients;
using Netdevd.Core.Nic;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.AfXdp;

/// <summary>
/// The far end of an af-xdp netdev's interface sends frames faster than the netdev's receiver
/// takes them: the netdevs sharing its I/O thread still move frames, and closing them, or it,
/// still completes.
/// </summary>
public sealed class AfXdpFloodTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_flooded_af_xdp_netdev_does_not_starve_another_on_its_io_thread_nor_hold_up_delete()
    {
        RequireRoot();
        HostTools.Require("ethtool", "ethtool");

        // One shared I/O thread for the af-xdp netdev and a dgram one, as with --io-threads 1.
        var pool = new IoThreadPool(1, $"xfl{Random.Shared.Next(100000, 999999)}");
        await using var rig = await AfXdpRig.CreateAsync("10.219.0", registry: AfXdpRig.NewRegistry(pool));
        await rig.A.CheckAsync("sysctl", "-qw", $"net.ipv6.conf.{rig.VethA}.disable_ipv6=1");
        var xdp = await rig.AddInXAsync(AfXdpRig.AfXdp("x0", new NetdevAFXDPOptions { Ifname = rig.VethX, Mode = AFXDPMode.Skb }));
        await using var slow = new SlowReceiver("slow");
        NetClient.Connect(xdp, slow);

        // The other netdev: a dgram netdev on loopback, a test socket its far end.
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var wfd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0);
        Assert.Equal(0, Libc.Bind(wfd, SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, 0))));
        Assert.Equal(0, Libc.Connect(wfd, SockAddr.Inet((IPEndPoint)peer.LocalEndPoint!)));
        peer.Connect(Libc.GetSockName(wfd)!.ToIPEndPoint()!);
        var quiet = new DatagramNetClient("w0", NetClientDriver.Dgram, wfd, null, "w0", pool: pool);
        var arrived = new BlockingCollection<int>();
        var nic = new NicClient("wnic", frame => arrived.Add(BinaryPrimitives.ReadInt32BigEndian(frame)));
        NetClient.Connect(quiet, nic);

        // A's end of the veth: frames of the local experimental EtherType, as fast as it sends them.
        var (fd, to) = NamespaceThread.Run(rig.A.Path, () => OpenSender(rig.VethA));
        var stop = false;
        var flood = new Thread(() =>
        {
            var frame = new byte[60];
            frame.AsSpan(0, 6).Fill(0xff);
            byte[] mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
            mac.CopyTo(frame, 6);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x88b5);
            while (!Volatile.Read(ref stop))
            {
                _ = Libc.SendTo(fd, frame, 0, to);
            }
        }) { IsBackground = true, Name = "af-xdp-flood" };
        flood.Start();
        try
        {
            Assert.True(SpinWait.SpinUntil(() => slow.Count > 100, TimeSpan.FromSeconds(10)), "the flood never reached the slow receiver");

            // The other netdev's frames still come through, one after the other, while the flood goes on.
            var datagram = new byte[64];
            for (var i = 0; i < 20; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(datagram, i);
                peer.Send(datagram);
                Assert.True(arrived.TryTake(out var seq, 5000, Ct), $"frame {i} of the other netdev did not arrive");
                Assert.Equal(i, seq);
            }

            // Closing waits for the shared thread to pass a barrier (netdev_del, under the
            // registry's gate); off the test's thread, since a close that hangs hangs its caller.
            await Task.Run(() => quiet.DisposeAsync().AsTask(), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
            await Task.Run(() => rig.Registry.DeleteAsync("x0", Ct), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        }
        finally
        {
            Volatile.Write(ref stop, true);
            flood.Join();
            Libc.Close(fd);
            await quiet.DisposeAsync();
            await nic.DisposeAsync();
        }
    }

    /// <summary>An AF_PACKET socket and the address that sends on <paramref name="ifname"/> (run inside its namespace).</summary>
    private static (int Fd, SockAddr To) OpenSender(string ifname)
    {
        const int AF_PACKET = 17;
        var fd = Libc.Socket(AF_PACKET, 3 /* SOCK_RAW */ | Libc.SOCK_CLOEXEC, 0);
        Assert.True(fd >= 0, Errno.Message(Errno.Last));

        // struct sockaddr_ll { family, protocol, ifindex, hatype, pkttype, halen, addr[8] }
        var ll = new byte[20];
        BinaryPrimitives.WriteUInt16LittleEndian(ll, AF_PACKET);
        BinaryPrimitives.WriteInt32LittleEndian(ll.AsSpan(4), (int)Libc.IfNameToIndex(ifname));
        return (fd, SockAddr.FromBytes(ll));
    }
}
