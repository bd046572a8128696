using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Commands;

/// <summary>The networking commands of QEMU's net.json plus netdevd's query-netdevs.</summary>
public sealed partial class QmpCommandHandlers
{
    public async ValueTask NetdevAddAsync(Netdev args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await _registry.AddAsync(args, NetdevOrigin.Monitor, context.Fds, context.CancellationToken).ConfigureAwait(false);
    }

    public async ValueTask NetdevDelAsync(NetdevDelArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        await _registry.DeleteAsync(args.Id, context.CancellationToken).ConfigureAwait(false);
    }

    public ValueTask SetLinkAsync(SetLinkArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        _registry.SetLink(args.Name, args.Up);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// netdevd has no NIC models, so no client can report an rx-filter: a name is either a
    /// netdev ("isn't a NIC") or nothing, and the full list is empty.
    /// </summary>
    public ValueTask<IReadOnlyList<RxFilterInfo>> QueryRxFilterAsync(QueryRxFilterArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Name is { } name)
        {
            throw new QapiException(_registry.Find(name) is not null
                ? $"net client({name}) isn't a NIC"
                : $"invalid net client name: {name}");
        }

        return ValueTask.FromResult<IReadOnlyList<RxFilterInfo>>([]);
    }

    /// <summary>Validated by the schema (QEMU checks no ranges); with no NICs there is nothing to announce.</summary>
    public ValueTask AnnounceSelfAsync(AnnounceParameters args, QapiCommandContext context) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<NetdevInfo>> QueryNetdevsAsync(QapiCommandContext context)
    {
        var netdevs = _registry.Snapshot();
        var list = new List<NetdevInfo>(netdevs.Count);
        foreach (var entry in netdevs)
        {
            var client = entry.Client;
            list.Add(new NetdevInfo
            {
                Id = entry.Id,
                Type = entry.Options.Type,
                Peer = client.Peer?.Name,
                LinkUp = !client.LinkDown,
                Info = client.Info,
                Options = entry.Options,
                Stats = Stats(client.Stats),
            });
        }

        return ValueTask.FromResult<IReadOnlyList<NetdevInfo>>(list);
    }

    private static NetdevStats Stats(NetClientStats s) => new()
    {
        RxFrames = s.ReceivedFrames,
        RxBytes = s.ReceivedBytes,
        TxFrames = s.SentFrames,
        TxBytes = s.SentBytes,
        Dropped = s.Dropped,
        Queued = s.Queued,
        Faults = s.Faults,
        LoopDrops = s.LoopDrops,
    };
}
