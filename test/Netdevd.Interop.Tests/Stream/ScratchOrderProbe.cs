using System.Buffers.Binary;
using System.Net.Sockets;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.Stream;

public sealed class ScratchOrderProbe
{
    [Fact]
    public async Task Probe_qemu_client_order_without_netdevd()
    {
        var dir = HostTools.TempDir();
        var path = Path.Combine(dir, "nd.sock");
        var peerPath = Path.Combine(dir, "peer.sock");
        var (listener, accept) = StreamFramePeer.Listen(new UnixDomainSocketEndPoint(path));
        using var _ = listener;
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("a", $"stream,id=a,server=on,addr.type=unix,addr.path={peerPath}"),
            ("b", $"stream,id=b,server=off,addr.type=unix,addr.path={path}"),
        ]);
        await using var sink = await accept();
        await using var peer = await StreamFramePeer.ConnectAsync(new UnixDomainSocketEndPoint(peerPath), TimeSpan.FromSeconds(10));
        const int Total = 5000;
        var wire = new byte[Total * 64];
        for (var i = 0; i < Total; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(i * 64), 60);
            Frames.Make(60, i).CopyTo(wire, (i * 64) + 4);
        }

        await peer.SendRawAsync(wire);
        var gaps = new List<string>();
        var last = -1;
        for (var i = 0; i < Total; i++)
        {
            var f = await sink.ReceiveAsync(TimeSpan.FromSeconds(10));
            var seq = Frames.Sequence(f);
            if (seq != last + 1 && gaps.Count < 5)
            {
                gaps.Add($"{last}->{seq}@{i}");
            }

            last = seq;
        }

        Assert.True(gaps.Count == 0, string.Join(", ", gaps));
    }
}
