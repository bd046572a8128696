using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Run;

/// <summary>
/// What <c>netdevd run</c> attaches the namespace's tap to when no <c>--netdev</c> is given:
/// a <c>user</c> netdev (NAT, DHCP from 10.0.2.15, DNS at 10.0.2.3), like pasta. The two meet
/// on hub 0, as in the default main job, so a user who later adds ports over the same ids finds
/// the same layout in both.
/// </summary>
internal static class UserAttachment
{
    public const string UserNetdevId = "user0";

    public static async Task AddAsync(NetdevRegistry registry, CancellationToken cancellationToken)
    {
        var user = new Netdev { Id = UserNetdevId, Type = NetClientDriver.User, User = new NetdevUserOptions() };
        await registry.AddAsync(user, NetdevOrigin.CommandLineModern, cancellationToken: cancellationToken).ConfigureAwait(false);
        await AddHubPortAsync(registry, "hub0user", UserNetdevId, cancellationToken).ConfigureAwait(false);
        await AddHubPortAsync(registry, "hub0run", RunOptions.TapId, cancellationToken).ConfigureAwait(false);
    }

    private static Task<NetClient> AddHubPortAsync(NetdevRegistry registry, string id, string peer, CancellationToken cancellationToken) =>
        registry.AddAsync(
            new Netdev { Id = id, Type = NetClientDriver.Hubport, Hubport = new NetdevHubPortOptions { Hubid = 0, Netdev = peer } },
            NetdevOrigin.CommandLineModern,
            cancellationToken: cancellationToken);
}
