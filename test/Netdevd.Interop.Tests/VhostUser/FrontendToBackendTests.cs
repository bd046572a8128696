using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Chardevs;
using Netdevd.Backends.Tap;
using Netdevd.Backends.VhostUser;
using Netdevd.Backends.VhostUser.Frontend;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Options;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// netdevd's vhost-user front-end against netdevd's own vhost-user back-end (two netdevd
/// instances), each hubbed to a tap in a namespace of its own: ping and iperf3 both ways,
/// with and without virtio-net headers on the taps.
/// </summary>
public sealed class FrontendToBackendTests
{
    [Theory]
    [InlineData(1500, true)]
    [InlineData(65520, true)]
    [InlineData(1500, false)]
    public async Task Two_netdevds_joined_by_vhost_user_carry_iperf3_both_ways(int mtu, bool vnetHdr)
    {
        RequireRoot();
        var iperf = HostTools.Require("iperf3", "iperf3");
        HostTools.Require("ping", "iputils-ping");
        var socket = Path.Combine(HostTools.TempDir(), "be.sock");
        var ifA = TestNamespace.InterfaceName("ndfa");
        var ifB = TestNamespace.InterfaceName("ndfb");
        var hdr = vnetHdr ? "on" : "off";
        await using var nsA = await TestNamespace.CreateAsync();
        await using var nsB = await TestNamespace.CreateAsync();
        await using var registryB = NewRegistry();
        await using var registryA = NewRegistry();

        await AddAsync(registryB, $"vhost-user-backend,id=b0,addr.type=unix,addr.path={socket},server=on");
        await AddAsync(registryB, $"tap,id=tb,ifname={ifB},script=no,downscript=no,vnet_hdr={hdr}");
        await AddAsync(registryB, "hubport,id=pb0,hubid=0,netdev=b0");
        await AddAsync(registryB, "hubport,id=pb1,hubid=0,netdev=tb");

        await registryA.Chardevs.AddFromCommandLineAsync("c0", TestpmdTests.UnixClient(socket), Ct);
        var frontend = (VhostUserNetClient)await AddAsync(registryA, "vhost-user,id=v0,chardev=c0");
        await AddAsync(registryA, $"tap,id=ta,ifname={ifA},script=no,downscript=no,vnet_hdr={hdr}");
        await AddAsync(registryA, "hubport,id=pa0,hubid=0,netdev=v0");
        await AddAsync(registryA, "hubport,id=pa1,hubid=0,netdev=ta");

        await nsA.AdoptAsync(ifA, "10.208.0.1/24", mtu);
        await nsB.AdoptAsync(ifB, "10.208.0.2/24", mtu);

        await nsA.CheckAsync("ping", "-c", "2", "-w", "20", "10.208.0.2");
        await nsB.CheckAsync("ping", "-c", "2", "-w", "20", "10.208.0.1");
        await TapHubTests.IperfAsync(iperf, nsA, nsB, "10.208.0.2", streams: 1);
        await TapHubTests.IperfAsync(iperf, nsB, nsA, "10.208.0.1", streams: 1);

        // With headers on the taps, the super-frames cross the rings whole.
        Assert.Equal(vnetHdr, frontend.UsingVnetHeader);
        Assert.Equal(0, frontend.DroppedFrames);
    }

    internal static Task<Core.Clients.NetClient> AddAsync(NetdevRegistry registry, string spec) =>
        registry.AddAsync(NetdevSpecParser.Parse(spec), NetdevOrigin.CommandLineModern, cancellationToken: Ct);

    internal static NetdevRegistry NewRegistry() => new(
        [new TapNetdevFactory(), new HubportNetdevFactory(), new VhostUserNetdevFactory(), new VhostUserBackendNetdevFactory()],
        new NoEvents(),
        NullLoggerFactory.Instance,
        chardevs: new SocketChardevFactory());

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
