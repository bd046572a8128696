using Netdevd.Backends.Hubport;
using Netdevd.Core.Registry;

namespace Netdevd.Hosting;

/// <summary>
/// The backends this build provides: QEMU's net_client_init_fun table. A type missing here
/// is answered "network backend 'TYPE' is not compiled into this binary".
/// </summary>
internal static class BackendCatalog
{
    public static IReadOnlyList<INetdevFactory> Create() =>
    [
        new HubportNetdevFactory(),
    ];
}
