using System.Net;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Stream;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;

// Not ".Socket": a namespace of that name would shadow System.Net.Sockets.Socket.
namespace Netdevd.Interop.Tests.LegacySocket;

/// <summary>netdevd's legacy socket netdev (listen=/connect=) against QEMU's, both roles.</summary>
public sealed class SocketInteropTests
{
    private const int Burst = 100_000;

    [Fact]
    public async Task Netdevd_listens_qemu_connects()
    {
        await using var rig = new StreamRig();
        var port = HostTools.FreePort();
        var netdev = await rig.AddAsync(Socket("nd", new NetdevSocketOptions { Listen = $"127.0.0.1:{port}" }));
        var peerPort = HostTools.FreePort();
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("a", $"stream,id=a,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port={peerPort}"),
            ("b", $"socket,id=b,connect=127.0.0.1:{port}"),
        ]);
        await Eventually.WaitUntilAsync(() => netdev.Info.StartsWith("socket: connection from 127.0.0.1:", StringComparison.Ordinal), "accept", 15_000);
        await using var peer = await StreamFramePeer.ConnectAsync(new IPEndPoint(IPAddress.Loopback, peerPort), TimeSpan.FromSeconds(10));
        await rig.ExchangeAllSizesAsync(peer);
        await rig.BurstToNicAsync(peer, Burst);
        await rig.BurstToPeerAsync(peer, Burst);
    }

    [Fact]
    public async Task Netdevd_connects_qemu_listens()
    {
        await using var rig = new StreamRig();
        var port = HostTools.FreePort();
        var peerPort = HostTools.FreePort();
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("a", $"stream,id=a,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port={peerPort}"),
            ("b", $"socket,id=b,listen=127.0.0.1:{port}"),
        ]);
        var netdev = await rig.AddAsync(Socket("nd", new NetdevSocketOptions { Connect = $"127.0.0.1:{port}" }));
        Assert.Equal($"socket: connect to 127.0.0.1:{port}", netdev.Info);
        await using var peer = await StreamFramePeer.ConnectAsync(new IPEndPoint(IPAddress.Loopback, peerPort), TimeSpan.FromSeconds(10));
        await rig.ExchangeAllSizesAsync(peer);
        await rig.BurstToNicAsync(peer, Burst);
        await rig.BurstToPeerAsync(peer, Burst);
    }

    private static Netdev Socket(string id, NetdevSocketOptions options) => new()
    {
        Id = id,
        Type = NetClientDriver.Socket,
        Socket = options,
    };
}
