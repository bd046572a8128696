using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Core.Registry;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Stream.StreamTestKit;

namespace Netdevd.Backends.Tests.Stream;

public sealed class StreamBurstTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_burst_of_100000_small_frames_arrives_complete_and_in_order(bool unix)
    {
        const int Total = 100_000;
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        EndPoint ep;
        Netdevd.Qapi.Schema.SocketAddress addr;
        if (unix)
        {
            var path = Path.Combine(TempDir(), "b.sock");
            ep = new UnixDomainSocketEndPoint(path);
            addr = Unix(path);
        }
        else
        {
            var port = FreePort();
            ep = new IPEndPoint(IPAddress.Loopback, port);
            addr = Inet("127.0.0.1", port);
        }

        var client = await reg.AddAsync(StreamNetdev("b0", addr, server: true), NetdevOrigin.Monitor, cancellationToken: Ct);
        // The NIC runs on netdevd's poll thread: what that thread allocates between the first
        // and the last frame is the per-frame cost of read, reassembly and delivery.
        long count = 0;
        long firstAlloc = 0;
        long lastAlloc = 0;
        var nic = new Core.Nic.NicClient("nic0", frame =>
        {
            var n = ++count;
            if (n == 1)
            {
                firstAlloc = GC.GetAllocatedBytesForCurrentThread();
            }
            else if (n == Total)
            {
                lastAlloc = GC.GetAllocatedBytesForCurrentThread();
            }
        });
        reg.AttachNic("b0", nic);
        await Eventually.WaitUntilAsync(() => client.Info == "listening", "listening");
        using var peer = await FramedTestSocket.ConnectAsync(ep);
        var wire = new byte[Total * 64];
        for (var i = 0; i < Total; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(i * 64), 60);
            Frame(60, i).CopyTo(wire, (i * 64) + 4);
        }

        var sw = System.Diagnostics.Stopwatch.StartNew();
        peer.SendRaw(wire);
        await Eventually.WaitUntilAsync(() => Interlocked.Read(ref count) == Total, $"{Total} frames (got {Interlocked.Read(ref count)})");
        TestContext.Current.SendDiagnosticMessage($"{Total} frames in {sw.ElapsedMilliseconds} ms, {lastAlloc - firstAlloc} bytes allocated on the poll thread");
        Assert.True(lastAlloc - firstAlloc < 16 * 1024, $"{lastAlloc - firstAlloc} bytes allocated for {Total} frames in {sw.ElapsedMilliseconds} ms");
    }
}
