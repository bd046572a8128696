using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Dgram;
using Netdevd.Core.Registry;
using static Netdevd.Backends.Tests.Dgram.DgramTestKit;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>
/// DESIGN.md's datapath rule: no allocation per frame in steady state, either direction. The
/// allocation counter is process-wide, so this runs alone, not beside other tests.
/// </summary>
[Collection(nameof(DgramAllocationTests))]
[CollectionDefinition(nameof(DgramAllocationTests), DisableParallelization = true)]
public sealed class DgramAllocationTests
{
    [Fact]
    public async Task Steady_state_traffic_does_not_allocate_per_frame()
    {
        const int frames = 20_000;
        var mine = FreeUdpPort();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.Connect(new IPEndPoint(IPAddress.Loopback, mine));
        peer.ReceiveBufferSize = 8 << 20;
        await using var r = NewRegistry();
        var client = (DatagramNetClient)await r.AddAsync(
            DgramNetdev("d0", Inet("127.0.0.1", mine.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inet((IPEndPoint)peer.LocalEndPoint!)),
            NetdevOrigin.Monitor,
            null,
            Ct);
        var nic = new CaptureNic("nic0", keep: false);
        r.AttachNic("d0", nic.Client);
        var frame = Frame(200, 1);
        var sink = new byte[2048];

        // Warm up (JIT, pools, thread start), then measure.
        Exchange(peer, nic, frame, sink, 2000);
        await DgramDataTests.WaitQuiet(nic);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var receivedBefore = nic.Count;
        Exchange(peer, nic, frame, sink, frames);
        await DgramDataTests.WaitQuiet(nic);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.True(nic.Count - receivedBefore > frames / 2, $"only {nic.Count - receivedBefore} frames arrived");
        Assert.True(client.Counters.Sent >= frames, $"only {client.Counters.Sent} sent");
        // Any per-frame object would cost at least 24 bytes x 40000 frames (~1 MB); the budget
        // leaves room for the runtime's own background allocations (timers, thread pool).
        Assert.True(allocated < 256 * 1024, $"{allocated} bytes allocated for {2 * frames} frames");
    }

    private static void Exchange(Socket peer, CaptureNic nic, byte[] frame, byte[] sink, int count)
    {
        for (var i = 0; i < count; i++)
        {
            peer.Send(frame);
            nic.Client.Transmit(frame);
            if (peer.Available > 0)
            {
                _ = peer.Receive(sink);
            }
        }
    }
}
