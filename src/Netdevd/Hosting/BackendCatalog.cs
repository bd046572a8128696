using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;

namespace Netdevd.Hosting;

/// <summary>
/// The backends this build provides: QEMU's net_client_init_fun table. A type missing here
/// is answered "network backend 'TYPE' is not compiled into this binary".
/// </summary>
internal static class BackendCatalog
{
    /// <param name="userMemoryLimit">What each user netdev may hold for its guest (--user-memory-limit).</param>
    public static IReadOnlyList<INetdevFactory> Create(long userMemoryLimit = Netdevd.UserNet.Nat.NatLimits.DefaultMemoryLimit) =>
    [
        new HubportNetdevFactory(),
        new Netdevd.Backends.Stream.StreamNetdevFactory(),
        new Netdevd.Backends.LegacySocket.SocketNetdevFactory(),
        new Netdevd.Backends.Dgram.DgramNetdevFactory(),
        new Netdevd.Backends.Tap.TapNetdevFactory(),
        new Netdevd.Backends.Bridge.BridgeNetdevFactory(),
        new Netdevd.Backends.L2tpv3.L2tpv3NetdevFactory(),
        new Netdevd.Backends.Vde.VdeNetdevFactory(),
        new Netdevd.Backends.VhostUser.VhostUserBackendNetdevFactory(),
        new Netdevd.Backends.User.UserNetdevFactory(userMemoryLimit),
        new Netdevd.Backends.VhostVdpa.VhostVdpaNetdevFactory(),
        new Netdevd.Backends.AfXdp.AfXdpNetdevFactory(),
        new Netdevd.Backends.VhostUser.Frontend.VhostUserNetdevFactory(),
    ];
}
