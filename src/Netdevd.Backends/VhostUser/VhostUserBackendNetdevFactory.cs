using Microsoft.Extensions.Logging;
using Netdevd.Backends.Io;
using Netdevd.Backends.Stream;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// <c>-netdev vhost-user-backend,id=ID,addr.type=unix,addr.path=PATH[,server=on|off][,reconnect-ms=N][,queues=N]</c>:
/// netdevd's own type (qapi/netdevd.json). The socket is bound (server) or first connected
/// (client without reconnect-ms, in <see cref="WhenReadyAsync"/>) while the netdev is created,
/// so those errors are its errors.
/// </summary>
public sealed class VhostUserBackendNetdevFactory : INetdevFactory
{
    /// <summary>QEMU's MAX_QUEUE_NUM for vhost-user netdevs.</summary>
    public const int MaxQueuePairs = 1024;

    public NetClientDriver Driver => NetClientDriver.VhostUserBackend;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var backend = options.VhostUserBackend!;
        if (backend.Addr.Type != SocketAddressType.Unix)
        {
            throw new QapiException("vhost-user-backend: only unix socket addresses are supported ('addr.type=unix')");
        }

        var queues = backend.Queues ?? 1;
        if (queues < 1 || queues > MaxQueuePairs)
        {
            throw new QapiException($"vhost-user-backend number of queues must be in range [1, {MaxQueuePairs}]");
        }

        var server = backend.Server ?? true;
        if (server && backend.ReconnectMs is not null)
        {
            throw new QapiException("'reconnect-ms' option is incompatible with socket in server mode");
        }

        VhostUserEndpoint endpoint;
        try
        {
            endpoint = server
                ? VhostUserEndpoint.Listen(backend.Addr)
                : VhostUserEndpoint.Connect(backend.Addr, backend.ReconnectMs is > 0 and var ms ? TimeSpan.FromMilliseconds(ms) : null);
        }
        catch (SocketSetupException e)
        {
            throw new QapiException(e.Message);
        }

        var client = new VhostUserBackendClient(
            options.Id,
            endpoint,
            (int)queues,
            IoThreadPool.Default,
            context.Loggers.CreateLogger("netdevd.vhost-user-backend"));
        if (!endpoint.ConnectsFirst)
        {
            client.Start();
        }

        return ValueTask.FromResult<NetClient>(client);
    }

    /// <summary>
    /// A client without reconnect-ms connects here, outside the registry's gate: a front-end
    /// whose backlog is full (it listens and does not accept) keeps the connect waiting, and other
    /// monitors' netdev commands must not wait with it.
    /// </summary>
    public async ValueTask WhenReadyAsync(NetClient client, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var backend = (VhostUserBackendClient)client;
        if (!backend.Endpoint.ConnectsFirst)
        {
            return;
        }

        try
        {
            await backend.Endpoint.ConnectFirstAsync(context.CancellationToken).ConfigureAwait(false);
        }
        catch (SocketSetupException e)
        {
            throw new QapiException(e.Message);
        }

        backend.Start();
    }
}
