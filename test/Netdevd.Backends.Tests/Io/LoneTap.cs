using Netdevd.Backends.Io;
using Netdevd.Backends.Tap;
using Netdevd.Backends.Tests.Tap;
using Netdevd.Core.Clients;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>A tap on one end of a datagram socket pair whose frames an <see cref="AnsweringClient"/> sends back.</summary>
internal sealed class LoneTap : IAsyncDisposable
{
    private readonly int _guest;
    private readonly TapNetClient _tap;
    private readonly AnsweringClient _peer = new();
    private bool _disposed;

    public LoneTap(IoThreadPool pool, string ifname)
    {
        Assert.True(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK, 0, out var tapEnd, out _guest));
        _tap = new TapNetClient(ifname, [tapEnd], vnetHeader: false, ifname, $"ifname={ifname}", downscript: null, pool);
        NetClient.Connect(_tap, _peer);
    }

    /// <summary>
    /// After 20 ms (the thread is idle by then: its frame ends a sleep), sends a frame marked
    /// <paramref name="marker"/> from the guest's end; the first bytes of what comes back.
    /// </summary>
    public async Task<List<byte>> EchoAsync(byte marker)
    {
        await Task.Delay(20, TestContext.Current.CancellationToken);
        Assert.Equal(60, Libc.Write(_guest, LoneFrames.Frame(marker)));
        return await LoneFrames.ReadFirstBytesAsync(_guest, 1);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _tap.DisposeAsync();
        await _peer.DisposeAsync();
        Libc.Close(_guest);
    }
}
