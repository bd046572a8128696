using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Forwarding;

namespace Netdevd.Qmp.Commands;

/// <summary>
/// netdevd's run-time forwarding commands for user netdevs (QEMU has them only in HMP):
/// hostfwd-add, hostfwd-remove, query-hostfwd. The netdev is reached through its small
/// <see cref="IHostForwards"/> API, nothing else of the stack.
/// </summary>
public sealed partial class QmpCommandHandlers
{
    public ValueTask<HostFwdInfo> HostfwdAddAsync(HostfwdAddArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        return ValueTask.FromResult(ToQapi(UserNetdev(args.Netdev).AddHostForward(args.Rule)));
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
        var forwards = UserNetdev(args.Netdev).HostForwards;
        var list = new List<HostFwdInfo>(forwards.Count);
        foreach (var f in forwards)
        {
            list.Add(ToQapi(f));
        }

        return ValueTask.FromResult<IReadOnlyList<HostFwdInfo>>(list);
    }

    private IHostForwards UserNetdev(string id)
    {
        var entry = _registry.Find(id) ?? throw new QapiException(QapiErrorClass.DeviceNotFound, $"Device '{id}' not found");
        return entry.Client as IHostForwards ?? throw new QapiException($"Netdev '{id}' is not a user network");
    }

    private static HostFwdInfo ToQapi(HostForwardInfo f) => new()
    {
        Rule = f.Rule,
        Protocol = f.Protocol,
        HostAddr = f.HostAddress,
        HostPort = f.HostPort,
        GuestAddr = f.GuestAddress,
        GuestPort = f.GuestPort,
    };
}
