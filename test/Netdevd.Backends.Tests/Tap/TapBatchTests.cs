using Netdevd.Backends.Tap;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>
/// How a tap's reads are cut into batches. A peer that answers at the end of a batch (the user
/// netdev: a ping to the gateway) must not have its answer held behind a read that finds nothing.
/// </summary>
public sealed class TapBatchTests
{
    [Fact]
    public async Task The_answer_to_a_lone_frame_is_written_before_the_tap_reads_again()
    {
        // A datagram socket pair stands in for the tap's descriptor: one read is one frame.
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0, out var tapEnd, out var guest));
        var tap = new TapNetClient("t0", [tapEnd], vnetHeader: false, "rtt0", "ifname=rtt0", downscript: null);
        var peer = new AnsweringClient();
        try
        {
            // Two frames wait before the tap reads at all: its first drain finds both.
            Assert.Equal(60, Libc.Write(guest, LoneFrames.Frame(1)));
            Assert.Equal(60, Libc.Write(guest, LoneFrames.Frame(2)));
            NetClient.Connect(tap, peer);

            var answers = await LoneFrames.ReadFirstBytesAsync(guest, 2);
            Assert.Equal([1, 2], answers);

            // The first frame's batch ended (and its answer went out) before the second was read;
            // had the drain been one batch, the peer would have seen both frames, then one end.
            Assert.Equal(["frame 1", "end", "frame 2", "end"], peer.Events);
        }
        finally
        {
            await tap.DisposeAsync();
            await peer.DisposeAsync();
            Libc.Close(guest);
        }
    }

    [Fact]
    public async Task A_full_descriptor_holds_frames_back_and_a_refused_write_is_counted_and_dropped()
    {
        // The tap's read and write report errno as a negative result; this tells its three
        // outcomes apart: nothing to read (EAGAIN, not an error), no room to write (EAGAIN: the
        // frame waits and goes out once the descriptor is writable), and a write the kernel refuses
        // (EMSGSIZE here, EIO or EINVAL on a tap: counted and dropped, the link goes on).
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0, out var tapEnd, out var guest));
        Assert.Equal(0, Libc.SetSockOptInt(tapEnd, Libc.SOL_SOCKET, SoSndBuf, 4096));
        var tap = new TapNetClient("t0", [tapEnd], vnetHeader: false, "err0", "ifname=err0", downscript: null);
        var peer = new SendingClient();
        try
        {
            NetClient.Connect(tap, peer);

            // Nobody reads the guest's end: its queue fills and the tap's writes hit EAGAIN.
            var results = new List<DeliveryResult>();
            for (var i = 0; i < 64; i++)
            {
                results.Add(peer.SendFrame(LoneFrames.Frame((byte)i)));
            }

            Assert.Contains(DeliveryResult.Queued, results);
            Assert.Equal(0, tap.Counters.WriteErrors);

            // Read by the guest, every frame arrives, in order: the held ones once there was room.
            var arrived = await LoneFrames.ReadFirstBytesAsync(guest, 64);
            Assert.Equal(Enumerable.Range(0, 64).Select(i => (byte)i), arrived);

            // A datagram larger than the socket's send buffer is refused (EMSGSIZE): counted, dropped.
            var oversized = new byte[16384];
            Assert.Equal(DeliveryResult.Delivered, peer.SendFrame(oversized));
            Assert.Equal(1, tap.Counters.WriteErrors);

            // The guest's frames reach the peer; the read that finds the descriptor empty is no error.
            Assert.Equal(60, Libc.Write(guest, LoneFrames.Frame(7)));
            for (var waited = 0; peer.Received == 0 && waited < 500; waited++)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            Assert.Equal(1, peer.Received);
            Assert.Equal(0, tap.Counters.ReadErrors);
        }
        finally
        {
            await tap.DisposeAsync();
            await peer.DisposeAsync();
            Libc.Close(guest);
        }
    }

    private const int SoSndBuf = 7;

    /// <summary>The first byte of each of up to <paramref name="count"/> datagrams the tap writes to <paramref name="guest"/>, waiting up to 10 s.</summary>

    /// <summary>Sends frames to the tap on the test's thread and counts what the tap reads.</summary>
    private sealed class SendingClient() : NetClient("peer", NetClientDriver.User)
    {
        private int _received;

        public int Received => Volatile.Read(ref _received);

        public DeliveryResult SendFrame(byte[] frame) => Send(frame);

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame)
        {
            Interlocked.Increment(ref _received);
            return ReceiveResult.Accepted;
        }
    }
}
