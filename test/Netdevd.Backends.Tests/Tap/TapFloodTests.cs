using Netdevd.Backends.Io;
using Netdevd.Backends.Tap;
using Netdevd.Backends.Tests.Dgram;
using Netdevd.Backends.Tests.Io;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Tests.Shared;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>
/// A guest (or anything on the host side of a tap) that sends frames faster than the tap's peer
/// takes them: the netdevs beside the tap on its I/O thread still move frames, and closing one of
/// them still completes. Datagram socket pairs stand in for the tap descriptors: one read is one
/// frame, as on a tap, and no root or tap device is needed.
/// </summary>
public sealed class TapFloodTests
{
    [Fact]
    public async Task A_flooded_tap_does_not_starve_another_on_its_io_thread_nor_hold_up_its_close()
    {
        // One shared I/O thread for both taps, as with --io-threads 1.
        var pool = new IoThreadPool(1, $"tfl{Random.Shared.Next(100000, 999999)}");
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0, out var floodedEnd, out var floodGuest));
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0, out var quietEnd, out var quietGuest));
        var flooded = new TapNetClient("t0", [floodedEnd], vnetHeader: false, "flt0", "ifname=flt0", downscript: null, pool);
        var quiet = new TapNetClient("t1", [quietEnd], vnetHeader: false, "flt1", "ifname=flt1", downscript: null, pool);
        var slow = new SlowReceiver("slow");
        var nic = new CaptureNic("qnic");
        var frame = DgramTestKit.Frame(60, 0);
        Flooder? flood = null;
        try
        {
            NetClient.Connect(flooded, slow);
            NetClient.Connect(quiet, nic.Client);

            // EAGAIN while the tap's queue is full: try again.
            Flooder.DeepenBuffer(floodGuest, send: true);
            flood = new Flooder("tap-flood", () =>
            {
                _ = Libc.Write(floodGuest, frame);
                return true;
            });
            await Eventually.WaitUntilAsync(() => slow.Count > 100, "the flood reaching the slow receiver");

            // The other tap's frames still come through, one after the other, while the flood goes on.
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(200, Libc.Write(quietGuest, DgramTestKit.Frame(200, i)));
                Assert.Equal(i, DgramTestKit.Seq(nic.Next(5000)));
            }

            // Closing it waits for the shared thread to pass a barrier (netdev_del, under the registry's gate);
            // off the test's thread, since a close that hangs hangs its caller.
            await Task.Run(() => quiet.DisposeAsync().AsTask(), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
            await Task.Run(() => flooded.DisposeAsync().AsTask(), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        }
        finally
        {
            flood?.Dispose();
            await flooded.DisposeAsync();
            await quiet.DisposeAsync();
            await slow.DisposeAsync();
            await nic.Client.DisposeAsync();
            Libc.Close(floodGuest);
            Libc.Close(quietGuest);
        }
    }
}
