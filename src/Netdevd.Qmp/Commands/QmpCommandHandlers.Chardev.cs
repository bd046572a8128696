using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Commands;

/// <summary>The chardev commands of QEMU's char.json, over the registry's chardevs.</summary>
public sealed partial class QmpCommandHandlers
{
    public async ValueTask<ChardevReturn> ChardevAddAsync(ChardevAddArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        await _registry.Chardevs.AddFromMonitorAsync(args.Id, args.Backend, context.CancellationToken).ConfigureAwait(false);
        return new ChardevReturn();
    }

    public async ValueTask ChardevRemoveAsync(ChardevRemoveArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        await _registry.Chardevs.RemoveAsync(args.Id, context.CancellationToken).ConfigureAwait(false);
    }

    public ValueTask<IReadOnlyList<ChardevInfo>> QueryChardevAsync(QapiCommandContext context)
    {
        var chardevs = _registry.Chardevs.Snapshot();
        var list = new List<ChardevInfo>(chardevs.Count);
        foreach (var c in chardevs)
        {
            list.Add(new ChardevInfo { Label = c.Id, Filename = c.Filename, FrontendOpen = c.IsBusy });
        }

        return ValueTask.FromResult<IReadOnlyList<ChardevInfo>>(list);
    }
}
