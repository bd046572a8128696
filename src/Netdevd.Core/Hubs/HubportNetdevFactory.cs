using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Hubs;

/// <summary>
/// <c>-netdev hubport,id=ID,hubid=N[,netdev=BACKEND]</c>: a port on hub N (made on first use).
/// With <c>netdev=</c> the port becomes that netdev's peer.
/// </summary>
public sealed class HubportNetdevFactory : INetdevFactory
{
    public NetClientDriver Driver => NetClientDriver.Hubport;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var hubport = options.Hubport!;
        NetClient? backend = null;
        if (hubport.Netdev is { } backendId)
        {
            backend = context.Registry.Find(backendId)?.Client ?? throw new QapiException($"netdev '{backendId}' not found");

            // QEMU 9.1 aborts on an assertion here; we refuse instead and create nothing.
            if (backend.Peer is not null)
            {
                throw new QapiException($"netdev '{backendId}' is already in use by '{backend.Peer.Name}'");
            }
        }

        var port = context.Hubs.AddPort(hubport.Hubid, options.Id);
        if (backend is not null)
        {
            NetClient.Connect(port, backend);
        }

        return ValueTask.FromResult<NetClient>(port);
    }
}
