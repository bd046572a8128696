using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Bridge;
using Netdevd.Backends.Tap;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;

namespace Netdevd.Interop.Tests.Tap;

/// <summary>Registries and option objects for the tap tests; and the root check every one of them makes.</summary>
internal static class TapTestKit
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static void RequireRoot() =>
        Assert.SkipUnless(Harness.HostTools.IsRoot, "needs root: creates taps and network namespaces (CI runs as root)");

    public static NetdevRegistry NewRegistry() =>
        new([new TapNetdevFactory(), new BridgeNetdevFactory(), new HubportNetdevFactory()], new NoEvents(), NullLoggerFactory.Instance);

    public static Netdev TapNetdev(string id, NetdevTapOptions options) => new() { Id = id, Type = NetClientDriver.Tap, Tap = options };

    public static Netdev Hubport(string id, int hub, string netdev) => new()
    {
        Id = id,
        Type = NetClientDriver.Hubport,
        Hubport = new NetdevHubPortOptions { Hubid = hub, Netdev = netdev },
    };

    /// <summary>Two taps, each hubbed on hub 0 and moved into its own namespace with 10.N.0.1/.2.</summary>
    public static async Task<(TapNetClient A, TapNetClient B)> HubTwoTapsAsync(
        NetdevRegistry registry, TestNamespace nsA, TestNamespace nsB, int mtu, bool? vnetHdr, uint? queues = null, string subnet = "10.201.0")
    {
        var ifA = TestNamespace.InterfaceName("ndta");
        var ifB = TestNamespace.InterfaceName("ndtb");
        var a = (TapNetClient)await registry.AddAsync(TapNetdev("ta", new NetdevTapOptions { Ifname = ifA, Script = "no", Downscript = "no", VnetHdr = vnetHdr, Queues = queues }), NetdevOrigin.Monitor, cancellationToken: Ct);
        var b = (TapNetClient)await registry.AddAsync(TapNetdev("tb", new NetdevTapOptions { Ifname = ifB, Script = "no", Downscript = "no", VnetHdr = vnetHdr, Queues = queues }), NetdevOrigin.Monitor, cancellationToken: Ct);
        await registry.AddAsync(Hubport("pa", 0, "ta"), NetdevOrigin.Monitor, cancellationToken: Ct);
        await registry.AddAsync(Hubport("pb", 0, "tb"), NetdevOrigin.Monitor, cancellationToken: Ct);
        await nsA.AdoptAsync(ifA, subnet + ".1/24", mtu);
        await nsB.AdoptAsync(ifB, subnet + ".2/24", mtu);
        return (a, b);
    }

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
