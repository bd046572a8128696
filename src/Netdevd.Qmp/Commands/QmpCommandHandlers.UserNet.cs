using Netdevd.Core.UserNetworks;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Commands;

/// <summary>
/// netdevd's commands for user netdevs (QEMU has them only in HMP): hostfwd-add, hostfwd-remove,
/// query-hostfwd and query-usernet. The netdev is reached through Core's
/// <see cref="IUserNetwork"/>, nothing of the stack itself.
/// </summary>
public sealed partial class QmpCommandHandlers
{
    public ValueTask<HostFwdInfo> HostfwdAddAsync(HostfwdAddArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        return ValueTask.FromResult(UserNetdev(args.Netdev).AddHostForward(args.Rule));
    }

    public ValueTask HostfwdRemoveAsync(HostfwdRemoveArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!UserNetdev(args.Netdev).RemoveHostForward(args.Rule))
        {
            throw new QapiException($"host forwarding rule for {args.Rule} not found");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<HostFwdInfo>> QueryHostfwdAsync(QueryHostfwdArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        return ValueTask.FromResult(UserNetdev(args.Netdev).HostForwards);
    }

    public ValueTask<IReadOnlyList<UsernetInfo>> QueryUsernetAsync(QueryUsernetArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Netdev is { } id)
        {
            return ValueTask.FromResult<IReadOnlyList<UsernetInfo>>([UserNetdev(id).QueryState()]);
        }

        var list = new List<UsernetInfo>();
        foreach (var entry in _registry.Snapshot())
        {
            if (entry.Client is IUserNetwork user)
            {
                list.Add(user.QueryState());
            }
        }

        return ValueTask.FromResult<IReadOnlyList<UsernetInfo>>(list);
    }

    private IUserNetwork UserNetdev(string id)
    {
        var entry = _registry.Find(id) ?? throw new QapiException(QapiErrorClass.DeviceNotFound, $"Device '{id}' not found");
        return entry.Client as IUserNetwork ?? throw new QapiException($"Netdev '{id}' is not a user network");
    }
}
