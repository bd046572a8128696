using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Startup;

/// <summary>
/// The netdev a VM attaches to with QEMU's <c>-chardev socket,path=PATH -netdev vhost-user</c>:
/// a <c>vhost-user-backend</c> listening on a unix socket (passt's --socket with --vhost-user).
/// It takes the stream server's ids, so the hub layout is the same in either mode.
/// </summary>
internal static class VhostUserServer
{
    public const string NetdevId = StreamServer.NetdevId;
    public const string HubPortId = StreamServer.HubPortId;

    /// <summary>Binds and listens while the netdev is created: once this returns, front-ends can connect.</summary>
    public static Task AddAsync(NetdevRegistry registry, string path, CancellationToken cancellationToken) =>
        registry.AddAsync(
            new Netdev
            {
                Id = NetdevId,
                Type = NetClientDriver.VhostUserBackend,
                VhostUserBackend = new NetdevVhostUserBackendOptions
                {
                    Server = true,
                    Addr = new SocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = path } },
                },
            },
            NetdevOrigin.CommandLineModern,
            cancellationToken: cancellationToken);
}
