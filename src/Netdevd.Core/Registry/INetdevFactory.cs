using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Registry;

/// <summary>
/// Creates the clients of one netdev type (QEMU's net_init_TYPE). Adding a backend is one
/// factory and one registration; nothing else changes.
/// </summary>
/// <remarks>
/// Creation has two phases so that a netdev waiting on its far end cannot hold up every other
/// monitor's netdev commands: <see cref="CreateAsync"/> runs under the registry's gate and must
/// not wait on anything outside this process (checks, claims, opening, starting);
/// <see cref="WhenReadyAsync"/> runs outside the gate, with the id reserved, and is where a
/// netdev waits for its far end (a vhost-user back-end, as QEMU waits for it in net_init).
/// </remarks>
public interface INetdevFactory
{
    /// <summary>The <c>type</c> value this factory serves.</summary>
    NetClientDriver Driver { get; }

    /// <summary>
    /// Builds and starts the netdev. On failure throw <see cref="Qapi.Errors.QapiException"/>
    /// with QEMU's text and leave nothing behind (close what was opened).
    /// </summary>
    ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context);

    /// <summary>
    /// Completes when <paramref name="client"/>, just made by <see cref="CreateAsync"/>, is ready
    /// to be listed (by default at once). It ends with <see cref="NetdevContext.CancellationToken"/>
    /// (the caller gave up or the registry is closing). On failure throw
    /// <see cref="Qapi.Errors.QapiException"/> with QEMU's text; the registry closes the client.
    /// </summary>
    ValueTask WhenReadyAsync(NetClient client, NetdevContext context) => ValueTask.CompletedTask;
}
