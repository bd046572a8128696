using Netdevd.Backends.Dgram;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Vde;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.L2tpv3;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;

namespace Netdevd.Interop.Tests.Vde;

/// <summary>netdevd's vde netdev on a real vde_switch, with QEMU's vde netdev and a namespace's tap as the other ports.</summary>
public sealed class VdeInteropTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NetdevRegistry NewRegistry() =>
        new([new VdeNetdevFactory(), new HubportNetdevFactory()], new Silent(), NullLoggerFactory.Instance);

    private static Netdev Vde(string id, string sock) => new() { Id = id, Type = NetClientDriver.Vde, Vde = new NetdevVdeOptions { Sock = sock } };

    [Fact]
    public async Task Frames_cross_a_vde_switch_between_netdevd_and_QEMU()
    {
        using var sw = VdeSwitch.Start();
        int qemuTest = HostTools.FreePort(SocketType.Dgram), test = HostTools.FreePort(SocketType.Dgram);
        using var peer = new DatagramFramePeer(new IPEndPoint(IPAddress.Loopback, test), new IPEndPoint(IPAddress.Loopback, qemuTest));
        await using var qemu = await QemuForwarder.StartAsync(
        [
            ("q0", $"vde,id=q0,sock={sw.Path}"),
            ("q1", $"dgram,id=q1,local.type=inet,local.host=127.0.0.1,local.port={qemuTest},remote.type=inet,remote.host=127.0.0.1,remote.port={test}"),
        ]);
        await using var r = NewRegistry();
        var client = (DatagramNetClient)await r.AddAsync(Vde("v0", sw.Path), NetdevOrigin.Monitor, null, Ct);
        Assert.Equal($"sock={sw.Path},fd={client.Fd}", client.Info);
        var got = new BlockingCollection<byte[]>();
        var nic = new NicClient("nic0", f => got.Add(f.ToArray()));
        r.AttachNic("v0", nic);

        var seq = 0;
        foreach (var size in new[] { 60, 1000, 1514 })
        {
            var toQemu = Frames.Make(size, seq++);
            nic.Transmit(toQemu);
            Assert.Equal(toQemu, await peer.ReceiveAsync(TimeSpan.FromSeconds(5)));

            var fromQemu = Frames.Make(size, seq++);
            await peer.SendAsync(fromQemu);
            Assert.True(got.TryTake(out var atNetdevd, 5000), "no frame from QEMU reached netdevd");
            Assert.Equal(fromQemu, atNetdevd);
        }
    }

    [Fact]
    public async Task Namespace_on_vde_plug2tap_and_netdevd_ping_each_other()
    {
        Assert.SkipUnless(HostTools.IsRoot, "needs root: a network namespace and a tap (vde_plug2tap)");
        HostTools.Require("ip", "iproute2");
        var plug2tap = HostTools.Require("vde_plug2tap", "vde2");
        using var sw = VdeSwitch.Start();
        using var ns = NetnsScope.Create("nd-vde");
        const string tap = "ndvde0";
        ns.Start(plug2tap, "-s", sw.Path, tap);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ns.TryExec("ip", "link", "show", tap).Code != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "vde_plug2tap did not create its tap");
            await Task.Delay(50, Ct);
        }

        ns.Exec("ip", "addr", "add", "10.77.31.1/24", "dev", tap);
        ns.Exec("ip", "link", "set", tap, "up");

        await using var r = NewRegistry();
        await r.AddAsync(Vde("v0", sw.Path), NetdevOrigin.Monitor, null, Ct);
        var host = new Ipv4PingPeer("nic0", IPAddress.Parse("10.77.31.2"), [0x52, 0x54, 0x00, 0x4e, 0x44, 0x01]);
        r.AttachNic("v0", host.Client);

        var (code, output) = ns.TryExec("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.31.2");
        Assert.True(code == 0, $"ping from the namespace failed: {output}");
        Assert.True(host.Answered >= 3);
        Assert.True(host.Ping(IPAddress.Parse("10.77.31.1"), 1, TimeSpan.FromSeconds(5)), "the namespace did not answer netdevd's ping");
    }

    private sealed class Silent : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
