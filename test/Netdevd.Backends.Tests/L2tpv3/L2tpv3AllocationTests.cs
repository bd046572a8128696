using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.L2tpv3;
using Netdevd.Backends.Tests.Dgram;
using Netdevd.Core.Registry;
using static Netdevd.Backends.Tests.L2tpv3.L2tpv3TestKit;

namespace Netdevd.Backends.Tests.L2tpv3;

/// <summary>
/// DESIGN.md's datapath rule for the datagram base with a header (l2tpv3): no allocation per
/// frame in steady state, either direction. The allocation counter is process-wide, so this runs alone.
/// </summary>
[Collection(nameof(L2tpv3AllocationTests))]
[CollectionDefinition(nameof(L2tpv3AllocationTests), DisableParallelization = true)]
public sealed class L2tpv3AllocationTests
{
    [Fact]
    public async Task Steady_state_traffic_does_not_allocate_per_frame()
    {
        const int frames = 20_000;
        const uint session = 0x42;
        var mine = DgramTestKit.FreeUdpPort();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.Connect(new IPEndPoint(IPAddress.Loopback, mine));
        peer.ReceiveBufferSize = 8 << 20;
        await using var r = NewRegistry();
        var client = (L2tpv3NetClient)await r.AddAsync(
            Netdev("l0", Udp("127.0.0.1", mine, "127.0.0.1", ((IPEndPoint)peer.LocalEndPoint!).Port, session)),
            NetdevOrigin.Monitor,
            null,
            Ct);
        var nic = new CaptureNic("nic0", keep: false);
        r.AttachNic("l0", nic.Client);
        var frame = Frame(200, 1);
        var datagram = new byte[8 + frame.Length];
        BinaryPrimitives.WriteUInt32BigEndian(datagram, 0x00030000);
        BinaryPrimitives.WriteUInt32BigEndian(datagram.AsSpan(4), session);
        frame.CopyTo(datagram, 8);
        var sink = new byte[2048];

        // Warm up (JIT, pools, thread start), then measure.
        Exchange(peer, nic, datagram, frame, sink, 2000);
        await DgramDataTests.WaitQuiet(nic);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var receivedBefore = nic.Count;
        Exchange(peer, nic, datagram, frame, sink, frames);
        await DgramDataTests.WaitQuiet(nic);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.True(nic.Count - receivedBefore > frames / 2, $"only {nic.Count - receivedBefore} frames arrived");
        Assert.True(client.Counters.Sent >= frames, $"only {client.Counters.Sent} sent");
        Assert.Equal(0, client.Counters.SessionMismatches + client.Counters.DroppedShort);

        // Any per-frame object would cost at least 24 bytes x 40000 frames (~1 MB); the budget
        // leaves room for the runtime's own background allocations (timers, thread pool).
        Assert.True(allocated < 256 * 1024, $"{allocated} bytes allocated for {2 * frames} frames");
    }

    private static void Exchange(Socket peer, CaptureNic nic, byte[] datagram, byte[] frame, byte[] sink, int count)
    {
        for (var i = 0; i < count; i++)
        {
            peer.Send(datagram);
            nic.Client.Transmit(frame);
            if (peer.Available > 0)
            {
                _ = peer.Receive(sink);
            }
        }
    }
}
