using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Chardevs;
using Netdevd.Backends.Tap;
using Netdevd.Backends.VhostUser.Frontend;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// netdevd's vhost-user front-end against DPDK's vhost-user back-end (testpmd forwarding to a
/// DPDK tap): a netdevd tap in one namespace and the DPDK tap in another ping each other
/// through netdevd's rings.
/// </summary>
public sealed class TestpmdTests
{
    [Fact]
    public async Task Netdevd_drives_DPDKs_vhost_port_ping_both_ways()
    {
        RequireRoot();
        Assert.SkipUnless(Testpmd.IsInstalled, $"needs dpdk-testpmd and its vhost and tap PMDs (apt-get install {Testpmd.Packages})");
        HostTools.Require("ping", "iputils-ping");
        var dir = HostTools.TempDir();
        try
        {
            var socket = Path.Combine(dir, "vhost.sock");
            var dpdkTap = TestNamespace.InterfaceName("ndvd");
            var ourTap = TestNamespace.InterfaceName("ndvt");
            await using var nsA = await TestNamespace.CreateAsync();
            await using var nsB = await TestNamespace.CreateAsync();
            await using var pmd = await Testpmd.StartAsync(socket, dpdkTap);
            await using var registry = NewVhostRegistry();

            await registry.Chardevs.AddFromCommandLineAsync("c0", UnixClient(socket), Ct);
            var vhost = (VhostUserNetClient)await registry.AddAsync(
                new Netdev { Id = "v0", Type = NetClientDriver.VhostUser, VhostUser = new NetdevVhostUserOptions { Chardev = "c0" } }, NetdevOrigin.Monitor, cancellationToken: Ct);
            await registry.AddAsync(TapNetdev("t0", new NetdevTapOptions { Ifname = ourTap, Script = "no", Downscript = "no" }), NetdevOrigin.Monitor, cancellationToken: Ct);
            await registry.AddAsync(Hubport("p0", 0, "v0"), NetdevOrigin.Monitor, cancellationToken: Ct);
            await registry.AddAsync(Hubport("p1", 0, "t0"), NetdevOrigin.Monitor, cancellationToken: Ct);
            Assert.False(vhost.LinkDown);
            Assert.Equal("vhost-user0 to c0", vhost.Info);

            await nsA.AdoptAsync(ourTap, "10.207.0.1/24", 1500);
            await nsB.AdoptAsync(dpdkTap, "10.207.0.2/24", 1500);

            await nsA.CheckAsync("ping", "-c", "3", "-w", "20", "10.207.0.2");
            await nsB.CheckAsync("ping", "-c", "3", "-w", "20", "10.207.0.1");
            Assert.True(vhost.Stats.SentFrames > 0 && vhost.Stats.ReceivedFrames > 0, $"sent {vhost.Stats.SentFrames}, received {vhost.Stats.ReceivedFrames}");
            Assert.Contains("virtio is now ready for processing", pmd.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    internal static NetdevRegistry NewVhostRegistry() =>
        new([new TapNetdevFactory(), new HubportNetdevFactory(), new VhostUserNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance, chardevs: new SocketChardevFactory());

    internal static ChardevBackend UnixClient(string path, long? reconnectMs = null) => new()
    {
        Type = ChardevBackendKind.Socket,
        Socket = new ChardevSocketWrapper
        {
            Data = new ChardevSocket
            {
                Addr = new SocketAddressLegacy { Type = SocketAddressType.Unix, Unix = new UnixSocketAddressWrapper { Data = new UnixSocketAddress { Path = path } } },
                Server = false,
                ReconnectMs = reconnectMs,
            },
        },
    };

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
