using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Registry;

/// <summary>
/// Creates the clients of one netdev type (QEMU's net_init_TYPE). Adding a backend is one
/// factory and one registration; nothing else changes.
/// </summary>
public interface INetdevFactory
{
    /// <summary>The <c>type</c> value this factory serves.</summary>
    NetClientDriver Driver { get; }

    /// <summary>
    /// Builds and starts the netdev. On failure throw <see cref="Qapi.Errors.QapiException"/>
    /// with QEMU's text and leave nothing behind (close what was opened).
    /// </summary>
    ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context);
}
