using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// DESIGN.md's datapath rule for the user netdev: a bulk TCP download from a host socket to the
/// guest allocates nothing per frame in steady state (host reads, segments, guest ACKs, timer
/// re-arms), counted on the two threads that carry it, and neither do echoes of the gateway.
/// </summary>
[Collection(nameof(UserNetHostIoTests))]
public sealed class UserNetAllocationTests
{
    private const ushort GuestPort = 40100;

    /// <param name="vnetHeader">The peer keeps virtio-net headers (a tap with vnet_hdr=on): segments leave with a partial checksum and a header.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_steady_tcp_download_does_not_allocate_per_frame(bool vnetHeader)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        using var io = new CountingIoThread();
        var client = UserNetClient.Create("u-alloc", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance, ioThread: io);
        var guest = new GuestPeer(vnetHeader);
        NetClient.Connect(client, guest);
        Assert.Equal(vnetHeader, client.UsingVnetHeader);
        using var stop = new CancellationTokenSource();
        Thread? sender = null;
        try
        {
            guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1000, 0, TcpFlags.Syn));
            using var accepted = await listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
            var synAck = await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));
            var ack = GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1001, synAck.Sequence + 1, TcpFlags.Ack);
            guest.Inject(ack);
            guest.Record = false;

            // The host writes without pause; the guest acknowledges whatever it got.
            sender = new Thread(() =>
            {
                var chunk = new byte[65536];
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        accepted.Send(chunk);
                    }
                }
                catch (SocketException)
                {
                }
                catch (ObjectDisposedException)
                {
                }
            }) { IsBackground = true };
            sender.Start();

            AckUntil(guest, ack, 2_000);

            // The data path runs on two threads: the netdev's I/O thread (host reads, segments
            // to the guest) and this one (the guest's ACKs, delivered synchronously). Their own
            // counters leave out other test assemblies' load and the runtime's threads, which
            // made the process-wide counter unreliable in full runs.
            var ioBefore = io.Allocated;
            var testBefore = GC.GetAllocatedBytesForCurrentThread();
            var framesBefore = guest.DataFrames;
            AckUntil(guest, ack, 20_000);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - testBefore + (io.Allocated - ioBefore);
            var frames = guest.DataFrames - framesBefore;

            // Any per-frame object would cost at least 24 bytes x 20000 frames (~480 KB).
            Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated on the data path's threads for {frames} frames");
        }
        finally
        {
            await stop.CancelAsync();
            await client.DisposeAsync();
            await guest.DisposeAsync();
            sender?.Join();
        }
    }

    /// <summary>
    /// The request/response path (a ping of the gateway, answered in the stack): the frame in,
    /// the reply built in a pooled buffer and sent when the sender's batch ends, nothing allocated.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Echoes_of_the_gateway_do_not_allocate(bool vnetHeader)
    {
        using var io = new CountingIoThread();
        var client = UserNetClient.Create("u-echo", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance, ioThread: io);
        var guest = new GuestPeer(vnetHeader);
        NetClient.Connect(client, guest);
        try
        {
            byte[][] ping = [GuestFrames.Ping(GuestFrames.Host, 7, 1)]; // one batch of one frame, as a tap's read
            for (var i = 0; i < 100; i++)
            {
                guest.InjectBatch(ping);
            }

            Assert.True(guest.Received.Count >= 100, $"{guest.Received.Count} frames for 100 echoes"); // answered within each batch, on this thread
            guest.Record = false;
            var ioBefore = io.Allocated;
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 5000; i++)
            {
                guest.InjectBatch(ping);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before + (io.Allocated - ioBefore);

            // Any per-echo object would cost at least 24 bytes x 5000 echoes (~120 KB).
            Assert.True(allocated < 16 * 1024, $"{allocated} bytes allocated for 5000 echoes");
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_download_larger_than_the_send_ring_reaches_the_guest_intact_in_order()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        var client = UserNetClient.Create("u-intact", UserNetConfigParser.Parse(new NetdevUserOptions()), TimeProvider.System, NullLogger.Instance);
        var guest = new GuestPeer { Record = false, InOrder = new MemoryStream() };
        NetClient.Connect(client, guest);
        Thread? sender = null;
        try
        {
            // Let the SYN-ACK be recorded, then count and collect only.
            guest.Record = true;
            guest.Inject(GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1000, 0, TcpFlags.Syn));
            using var accepted = await listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
            var synAck = await guest.WaitForTcpAsync((flags, _) => (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack));
            var ack = GuestFrames.Tcp(GuestFrames.Host, GuestPort, port, 1001, synAck.Sequence + 1, TcpFlags.Ack);
            guest.Record = false;
            guest.Inject(ack);

            // Six times the send ring, in writes of a size that divides nothing: the ring wraps
            // at every place, and reads take both its free regions at once.
            var data = new byte[6 * 512 * 1024];
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = (byte)(i * 7 % 251);
            }

            sender = new Thread(() =>
            {
                for (var offset = 0; offset < data.Length; offset += 77_777)
                {
                    accepted.Send(data.AsSpan(offset, Math.Min(77_777, data.Length - offset)));
                }
            }) { IsBackground = true };
            sender.Start();

            while (guest.InOrder!.Length < data.Length)
            {
                AckUntil(guest, ack, 1);
            }

            Assert.Equal(data, guest.InOrder.ToArray());
        }
        finally
        {
            await client.DisposeAsync();
            await guest.DisposeAsync();
            sender?.Join();
        }
    }

    /// <summary>Acknowledges what arrived (the ACK frame rewritten in place) until <paramref name="frames"/> more data frames came.</summary>
    private static void AckUntil(GuestPeer guest, byte[] ack, long frames)
    {
        var target = guest.DataFrames + frames;
        var acked = 0u;
        var idle = 0;
        while (guest.DataFrames < target)
        {
            var end = guest.HighestEnd;
            if (end == acked)
            {
                Assert.True(++idle < 30_000, "the download stalled");
                Thread.Sleep(1);
                continue;
            }

            idle = 0;
            acked = end;
            var l4 = ack.AsSpan(EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength);
            BinaryPrimitives.WriteUInt32BigEndian(l4[8..], end);
            TcpPacket.CreateUnchecked(l4).FillChecksum(GuestFrames.Guest, GuestFrames.Host);
            guest.Inject(ack);
        }
    }
}
