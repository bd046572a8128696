using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Startup;

/// <summary>
/// The user-mode NAT network every entry point builds when none is asked for: a <c>user</c>
/// netdev (10.0.2.0/24 by QEMU's defaults, or the options given) on hub 0, with the netdev that
/// carries the guest (the default job's stream server, <c>netdevd run</c>'s tap, a
/// personality's socket or tap) as hub 0's other port. The same ids everywhere, so a user who
/// adds ports over QMP finds the same layout whichever way netdevd was started.
/// </summary>
internal static class UserNetwork
{
    public const string NetdevId = "user0";
    private const string UserPortId = "hub0user";

    /// <summary>Adds the user netdev and plugs it and <paramref name="guestNetdevId"/> (port <paramref name="guestPortId"/>) into hub 0.</summary>
    public static async Task AddAsync(NetdevRegistry registry, NetdevUserOptions options, string guestNetdevId, string guestPortId, CancellationToken cancellationToken)
    {
        var user = new Netdev { Id = NetdevId, Type = NetClientDriver.User, User = options };
        await registry.AddAsync(user, NetdevOrigin.CommandLineModern, cancellationToken: cancellationToken).ConfigureAwait(false);
        await AddHubPortAsync(registry, UserPortId, NetdevId, cancellationToken).ConfigureAwait(false);
        await AddHubPortAsync(registry, guestPortId, guestNetdevId, cancellationToken).ConfigureAwait(false);
    }

    private static Task<NetClient> AddHubPortAsync(NetdevRegistry registry, string id, string peer, CancellationToken cancellationToken) =>
        registry.AddAsync(
            new Netdev { Id = id, Type = NetClientDriver.Hubport, Hubport = new NetdevHubPortOptions { Hubid = 0, Netdev = peer } },
            NetdevOrigin.CommandLineModern,
            cancellationToken: cancellationToken);
}
