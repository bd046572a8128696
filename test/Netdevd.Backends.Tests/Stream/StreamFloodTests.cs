using System.Buffers.Binary;
using System.Net.Sockets;
using Netdevd.Backends.Io;
using Netdevd.Backends.Stream;
using Netdevd.Backends.Tests.Io;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Stream.StreamTestKit;

namespace Netdevd.Backends.Tests.Stream;

/// <summary>
/// A far end that writes frames faster than the netdev's receiver takes them: the stream netdev
/// reading it must still give the other netdevs of its I/O thread (--io-threads) their turn, and
/// work posted to that thread (the close of a deleted netdev) must still run.
/// </summary>
public sealed class StreamFloodTests
{
    [Fact]
    public async Task A_flooded_stream_netdev_does_not_starve_another_on_its_io_thread()
    {
        await using var setup = await FloodSetup.StartAsync();
        using var flood = setup.Flood();
        await Eventually.WaitUntilAsync(() => setup.Slow.Count > 100, "the flood reaching the slow receiver");

        // The quiet netdev's frames still come through, one after the other, while the flood goes on.
        for (var i = 0; i < 20; i++)
        {
            var frame = Frame(200, i);
            setup.QuietPeer.Send(frame);
            Assert.Equal(i, Seq(setup.QuietNic.Next(5000)));
        }

        Assert.True(flood.Writes > 0);
    }

    [Fact]
    public async Task Deleting_netdevs_beside_and_under_a_flood_completes()
    {
        await using var setup = await FloodSetup.StartAsync();
        using var flood = setup.Flood();
        await Eventually.WaitUntilAsync(() => setup.Slow.Count > 100, "the flood reaching the slow receiver");

        // netdev_del of a netdev on the flooded netdev's thread waits for that thread to pass a
        // barrier; it used to wait for ever, under the registry's gate, so every monitor's netdev
        // commands hung with it.
        // (Off the test's thread: a close that hangs hangs its caller, which would never get to the bound.)
        await Task.Run(() => setup.Registry.DeleteAsync("w0", Ct), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Null(setup.Registry.Find("w0"));

        // The flooded netdev itself goes too, with the far end still writing.
        await Task.Run(() => setup.Registry.DeleteAsync("f0", Ct), Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Null(setup.Registry.Find("f0"));
    }

    /// <summary>Two stream servers on one shared I/O thread: f0 (a slow receiver behind it) and w0 (a capturing NIC), each with a connected far end.</summary>
    private sealed class FloodSetup : IAsyncDisposable
    {
        private readonly Socket _floodSocket;

        private FloodSetup(NetdevRegistry registry, SlowReceiver slow, FrameCapture quietNic, FramedTestSocket quietPeer, Socket floodSocket)
        {
            Registry = registry;
            Slow = slow;
            QuietNic = quietNic;
            QuietPeer = quietPeer;
            _floodSocket = floodSocket;
        }

        public NetdevRegistry Registry { get; }

        public SlowReceiver Slow { get; }

        public FrameCapture QuietNic { get; }

        public FramedTestSocket QuietPeer { get; }

        public static async Task<FloodSetup> StartAsync()
        {
            // One shared I/O thread for both netdevs, as with --io-threads 1.
            var pool = new IoThreadPool(1, $"fl{Random.Shared.Next(100000, 999999)}");
            var registry = new NetdevRegistry([new StreamNetdevFactory(pool)], new RecordingEvents(), new CapturingLoggers());
            var dir = TempDir();
            var floodPath = Path.Combine(dir, "f.sock");
            var quietPath = Path.Combine(dir, "w.sock");
            var flooded = await registry.AddAsync(StreamNetdev("f0", Unix(floodPath), server: true), NetdevOrigin.Monitor, cancellationToken: Ct);
            var quiet = await registry.AddAsync(StreamNetdev("w0", Unix(quietPath), server: true), NetdevOrigin.Monitor, cancellationToken: Ct);
            var slow = new SlowReceiver("slow");
            NetClient.Connect(flooded, slow);
            var quietNic = new FrameCapture("wnic");
            registry.AttachNic("w0", quietNic.Nic);
            await Eventually.WaitUntilAsync(() => flooded.Info != "initializing" && quiet.Info != "initializing", "listening");

            var quietPeer = await FramedTestSocket.ConnectAsync(new UnixDomainSocketEndPoint(quietPath));
            await Eventually.WaitUntilAsync(() => !quiet.LinkDown, "w0 connected");
            var floodPeer = await FramedTestSocket.ConnectAsync(new UnixDomainSocketEndPoint(floodPath));
            await Eventually.WaitUntilAsync(() => !flooded.LinkDown, "f0 connected");
            return new FloodSetup(registry, slow, quietNic, quietPeer, floodPeer.Socket);
        }

        /// <summary>Writes 60-byte frames into f0's connection as fast as the socket takes them.</summary>
        public Flooder Flood()
        {
            const int Frames = 1024;
            var wire = new byte[Frames * 64];
            for (var i = 0; i < Frames; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(i * 64), 60);
                Frame(60, i).CopyTo(wire, (i * 64) + 4);
            }

            // A bounded wait per write so the flood stops when told; a partial write goes on where it ended.
            var socket = _floodSocket;
            socket.SendTimeout = 200;
            Flooder.DeepenBuffer((int)socket.SafeHandle.DangerousGetHandle(), send: true);
            var at = 0;
            return new Flooder("stream-flood", () =>
            {
                try
                {
                    at += socket.Send(wire, at, wire.Length - at, SocketFlags.None);
                    if (at == wire.Length)
                    {
                        at = 0;
                    }

                    return true;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    return true;
                }
                catch (SocketException)
                {
                    // The netdev closed the connection.
                    return false;
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            QuietPeer.Dispose();
            _floodSocket.Dispose();
            await Registry.DisposeAsync();
            await Slow.DisposeAsync();
        }
    }
}
