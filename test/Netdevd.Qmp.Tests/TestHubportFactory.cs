using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Tests;

/// <summary>
/// A minimal hubport factory, so that these tests depend on Netdevd.Core alone and not on
/// the backends project (whose real HubportNetdevFactory does the same and more).
/// </summary>
internal sealed class TestHubportFactory : INetdevFactory
{
    public NetClientDriver Driver => NetClientDriver.Hubport;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context) =>
        ValueTask.FromResult<NetClient>(context.Hubs.AddPort(options.Hubport!.Hubid, options.Id));
}
