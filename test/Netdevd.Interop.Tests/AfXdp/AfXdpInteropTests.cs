using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.AfXdp;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.AfXdp;

/// <summary>
/// af-xdp on a veth end, hubbed to a tap: the kernel on both sides talks through AF_XDP (ping
/// and iperf3 both ways) in each attach mode, on two queues, under hostile frames.
/// </summary>
public sealed class AfXdpInteropTests
{
    public static TheoryData<string?, string> Modes => new()
    {
        { "skb", "xdpgeneric" },
        { "native", "xdp" },
        { null, "xdp" }, // without a mode, native first (a veth has it)
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Namespaces_talk_through_af_xdp_a_hub_and_a_tap(string? mode, string attachedAs)
    {
        RequireRoot();
        var iperf = HostTools.Require("iperf3", "iperf3");
        HostTools.Require("ping", "iputils-ping");
        HostTools.Require("ethtool", "ethtool");
        var subnet = mode switch { "skb" => "10.211.0", "native" => "10.212.0", _ => "10.213.0" };
        await using var rig = await AfXdpRig.CreateAsync(subnet);
        await rig.ConnectAsync(mode is null ? null : Enum.Parse<AFXDPMode>(mode, ignoreCase: true));

        var link = await rig.LinkOfXAsync();
        Assert.Contains($" {attachedAs} ", link, StringComparison.Ordinal);
        Assert.Contains("netdevd_xsk", link, StringComparison.Ordinal);

        await rig.A.CheckAsync("ping", "-c", "2", "-w", "10", subnet + ".2");
        await rig.B.CheckAsync("ping", "-c", "2", "-w", "10", subnet + ".1");
        await TapHubTests.IperfAsync(iperf, rig.A, rig.B, subnet + ".2", streams: 1);
        await TapHubTests.IperfAsync(iperf, rig.B, rig.A, subnet + ".1", streams: 1);
        Assert.True(rig.Xdp!.Stats.SentFrames > 1000, $"af-xdp handed on {rig.Xdp.Stats.SentFrames} frames");

        // Deleting the netdev takes its program off the interface, as QEMU does.
        await rig.Registry.DeleteAsync("x0", TestContext.Current.CancellationToken);
        Assert.DoesNotContain("netdevd_xsk", await rig.LinkOfXAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_queues_each_receive_on_their_own_socket()
    {
        RequireRoot();
        var iperf = HostTools.Require("iperf3", "iperf3");
        HostTools.Require("ethtool", "ethtool");
        await using var rig = await AfXdpRig.CreateAsync("10.214.0", queues: 2);
        await rig.ConnectAsync(AFXDPMode.Native, queues: 2);
        Assert.Equal(2, rig.Xdp!.QueueCount);

        // Eight TCP flows from A: the veth spreads them over its two queues by their hash, and
        // in native mode each arrives on the XDP socket of the queue it came in on.
        await rig.A.CheckAsync("ping", "-c", "2", "-w", "10", "10.214.0.2");
        try
        {
            await TapHubTests.IperfAsync(iperf, rig.A, rig.B, "10.214.0.2", streams: 8);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{e.Message}\n{await rig.DescribeAsync()}", e);
        }

        // Nine flows (eight streams and iperf3's control connection) all hash to one queue in one
        // run of 256: datagrams from 64 more source ports, each socket a flow of its own, make
        // "both queues" certain instead of likely.
        NamespaceThread.Run(rig.A.Path, () => SendFromManyPorts(IPAddress.Parse("10.214.0.2"), 64));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((rig.Xdp.ReceivedOnQueue(0) == 0 || rig.Xdp.ReceivedOnQueue(1) == 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(rig.Xdp.ReceivedOnQueue(0) > 0, $"queue 0: {rig.Xdp.ReceivedOnQueue(0)} frames\n{rig.Xdp.Describe()}");
        Assert.True(rig.Xdp.ReceivedOnQueue(1) > 0, $"queue 1: {rig.Xdp.ReceivedOnQueue(1)} frames\n{rig.Xdp.Describe()}");
    }

    /// <summary>One UDP datagram to <paramref name="to"/> from each of <paramref name="count"/> new sockets (new source ports, new flow hashes).</summary>
    private static int SendFromManyPorts(IPAddress to, int count)
    {
        var payload = new byte[32];
        for (var i = 0; i < count; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.SendTo(payload, new IPEndPoint(to, 9));
        }

        return count;
    }

    [Fact]
    public async Task A_burst_longer_than_one_kick_sends_leaves_the_interface_whole()
    {
        RequireRoot();
        HostTools.Require("ethtool", "ethtool");
        await using var rig = await AfXdpRig.CreateAsync("10.218.0");

        // Nothing from A may reach the socket: each frame arriving there wakes its poll, which
        // sends more of what the ring holds and would hide frames left on it.
        await rig.A.CheckAsync("sysctl", "-qw", $"net.ipv6.conf.{rig.VethA}.disable_ipv6=1");
        var xdp = (AfXdpNetClient)await rig.AddInXAsync(AfXdpRig.AfXdp("x0", new NetdevAFXDPOptions { Ifname = rig.VethX, Mode = AFXDPMode.Skb }));
        var counter = NamespaceThread.Run(rig.A.Path, () => OpenCounter(rig.VethA));
        await using var source = new BurstSource();
        try
        {
            NetClient.Connect(source, xdp);

            // One batch of 256 frames, as a tap hands over what one drain of its queue read: a
            // copy-mode sendto sends 32 of them and leaves the rest on the TX ring.
            const int Burst = 256;
            source.SendBurst(Burst);
            var received = 0;
            var buffer = new byte[2048];
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (received < Burst && DateTime.UtcNow < deadline)
            {
                if (Libc.Recv(counter, buffer, 0x40 /* MSG_DONTWAIT */) > 0)
                {
                    received++;
                }
                else
                {
                    await Task.Delay(20, TestContext.Current.CancellationToken);
                }
            }

            Assert.True(received == Burst, $"A received {received} of the {Burst} frames of one batch\n{xdp.Describe()}");
        }
        finally
        {
            Libc.Close(counter);
        }
    }

    [Fact]
    public async Task Frames_of_any_size_and_content_are_handed_on_or_dropped_and_counted()
    {
        RequireRoot();
        HostTools.Require("ethtool", "ethtool");
        HostTools.Require("ping", "iputils-ping");
        await using var rig = await AfXdpRig.CreateAsync("10.215.0", mtu: 9000);
        await rig.ConnectAsync(AFXDPMode.Skb, tapMtu: 9000);
        await rig.A.CheckAsync("ping", "-c", "1", "-w", "10", "10.215.0.2");

        // Garbage from A's end of the veth: every length from the Ethernet header to the MTU,
        // random bytes. What fits a UMEM frame reaches the hub; the rest the kernel drops and counts.
        var sent = NamespaceThread.Run(rig.A.Path, () => SendGarbage(rig.VethA, 9014));
        Assert.True(sent > 1000, $"sent {sent}");

        // Towards the interface, a frame longer than a UMEM frame is dropped and counted here.
        var (code, _, _) = await rig.B.RunAsync("ping", "-c", "2", "-w", "4", "-s", "6000", "10.215.0.1");
        Assert.NotEqual(0, code);
        Assert.True(rig.Xdp!.Counters.OversizeDrops >= 2, $"oversize drops: {rig.Xdp.Counters.OversizeDrops}");
        Assert.True(rig.Xdp.KernelDrops > 0, "the kernel counted no drop of the long frames");

        // And everything still works.
        await rig.A.CheckAsync("ping", "-c", "2", "-w", "10", "10.215.0.2");
        await rig.B.CheckAsync("ping", "-c", "2", "-w", "10", "10.215.0.1");
        Assert.Equal(0, rig.Xdp.Counters.InvalidDescriptors);
    }

    public static TheoryData<string, string> Errors => new()
    {
        { "ifname=nd-nosuch0", "failed to get ifindex for 'nd-nosuch0': No such device" },
        { "queues=0", "invalid number of queues (0) for 'VETH'" },
        { "queues=-3", "invalid number of queues (-3) for 'VETH'" },
        { "inhibit=on", "'inhibit=on' requires 'sock-fds' and vice versa" },
        { "sock-fds=3", "'inhibit=on' requires 'sock-fds' and vice versa" },
        { "queues=-1,inhibit=on", "invalid number of queues (-1) for 'VETH'" },
        { "inhibit=on,sock-fds=", "expected 1 socket fds, got 0" },
        { "queues=2,inhibit=on,sock-fds=3", "expected 2 socket fds, got 1" },
        { "inhibit=on,sock-fds=x", "Invalid file descriptor number 'x'" },
        { "inhibit=on,sock-fds=NULLFD", "failed to create umem for VETH queue_index: 0: Socket operation on non-socket" },
        { "start-queue=7", "failed to create AF_XDP socket for VETH queue_id: 7: Invalid argument" },
        { "queues=3", "failed to create AF_XDP socket for VETH queue_id: 1: Invalid argument" },

        // The queue ids are proven by their binds before the XSKMAP is sized by them: sized first,
        // the map of 2^31 entries took 16 GiB of the machine's memory (half a minute here, the
        // registry held) or failed with ENOMEM at queue 0 where the memory was not there.
        { "queues=2147483647", "failed to create AF_XDP socket for VETH queue_id: 1: Invalid argument" },
        { "queues=2147483647,start-queue=2147483647", "failed to create AF_XDP socket for VETH queue_id: 2147483647: Invalid argument" },
        { "mode=skb,inhibit=on,sock-fds=XSKFD", "no XDP program loaded on 'VETH', ifindex: IFINDEX" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Each_check_fails_with_QEMUs_text_and_leaves_nothing(string options, string message)
    {
        RequireRoot();
        HostTools.Require("ethtool", "ethtool");
        await using var rig = await AfXdpRig.CreateAsync("10.216.0");
        var ifindex = NamespaceThread.Run(rig.X.Path, () => Libc.IfNameToIndex(rig.VethX));
        var opts = new NetdevAFXDPOptions { Ifname = rig.VethX };
        foreach (var pair in options.Split(','))
        {
            var (key, value) = (pair[..pair.IndexOf('=', StringComparison.Ordinal)], pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            if (value == "NULLFD")
            {
                value = GrantedFd(Libc.Open("/dev/null", Libc.O_CLOEXEC));
            }
            else if (value == "XSKFD")
            {
                value = GrantedFd(NamespaceThread.Run(rig.X.Path, Xdp.Socket));
            }

            switch (key)
            {
                case "ifname": opts.Ifname = value; break;
                case "queues": opts.Queues = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "start-queue": opts.StartQueue = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "inhibit": opts.Inhibit = value == "on"; break;
                case "sock-fds": opts.SockFds = value; break;
                case "mode": opts.Mode = Enum.Parse<AFXDPMode>(value, ignoreCase: true); break;
            }
        }

        var e = await Assert.ThrowsAsync<QapiException>(() => rig.AddInXAsync(AfXdpRig.AfXdp("x0", opts)));
        Assert.Equal(message.Replace("VETH", rig.VethX, StringComparison.Ordinal).Replace("IFINDEX", ifindex.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), e.Message);
        Assert.Empty(rig.Registry.Snapshot());
        Assert.DoesNotContain("netdevd_xsk", await rig.LinkOfXAsync(), StringComparison.Ordinal);
    }

    private static string GrantedFd(int fd)
    {
        Assert.True(fd >= 0, Errno.Message(Errno.Last));
        GrantedDescriptors.Grant(fd);
        return fd.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>An AF_PACKET socket on <paramref name="ifname"/> that receives only frames of <see cref="BurstSource.EtherType"/>.</summary>
    private static int OpenCounter(string ifname)
    {
        const int AF_PACKET = 17;
        var protocol = (int)BinaryPrimitives.ReverseEndianness((ushort)BurstSource.EtherType);
        var fd = Libc.Socket(AF_PACKET, 3 /* SOCK_RAW */ | Libc.SOCK_CLOEXEC, protocol);
        Assert.True(fd >= 0, Errno.Message(Errno.Last));
        var ll = new byte[20];
        BinaryPrimitives.WriteUInt16LittleEndian(ll, AF_PACKET);
        BinaryPrimitives.WriteUInt16BigEndian(ll.AsSpan(2), BurstSource.EtherType);
        BinaryPrimitives.WriteInt32LittleEndian(ll.AsSpan(4), (int)Libc.IfNameToIndex(ifname));
        Assert.True(Libc.Bind(fd, ll) == 0, Errno.Message(Errno.Last));
        return fd;
    }

    /// <summary>A peer that hands the af-xdp netdev frames in one batch, as a backend that read many with one call does.</summary>
    private sealed class BurstSource() : NetClient("burst", NetClientDriver.Socket)
    {
        /// <summary>IEEE 802 local experimental EtherType 1: no stack on A answers it.</summary>
        public const ushort EtherType = 0x88b5;

        public void SendBurst(int count)
        {
            var frame = new byte[60];
            frame.AsSpan(0, 6).Fill(0xff);
            byte[] mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
            mac.CopyTo(frame, 6);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType);
            BeginSendBatch();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), i);
                    Assert.Equal(DeliveryResult.Delivered, Send(frame));
                }
            }
            finally
            {
                SendBatchEnd();
            }
        }

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }

    /// <summary>Random frames of every length from 14 to <paramref name="maxLength"/> through an AF_PACKET socket on <paramref name="ifname"/>.</summary>
    private static int SendGarbage(string ifname, int maxLength)
    {
        const int AF_PACKET = 17;
        var fd = Libc.Socket(AF_PACKET, 3 /* SOCK_RAW */ | Libc.SOCK_CLOEXEC, 0);
        Assert.True(fd >= 0, Errno.Message(Errno.Last));
        try
        {
            // struct sockaddr_ll { family, protocol, ifindex, hatype, pkttype, halen, addr[8] }
            var ll = new byte[20];
            BinaryPrimitives.WriteUInt16LittleEndian(ll, AF_PACKET);
            BinaryPrimitives.WriteInt32LittleEndian(ll.AsSpan(4), (int)Libc.IfNameToIndex(ifname));
            var to = SockAddr.FromBytes(ll);
            var random = new Random(8);
            var frame = new byte[maxLength];
            var sent = 0;
            for (var length = 14; length <= maxLength; length += 7)
            {
                random.NextBytes(frame.AsSpan(0, length));
                if (Libc.SendTo(fd, frame.AsSpan(0, length), 0, to) == length)
                {
                    sent++;
                }
            }

            return sent;
        }
        finally
        {
            Libc.Close(fd);
        }
    }
}
