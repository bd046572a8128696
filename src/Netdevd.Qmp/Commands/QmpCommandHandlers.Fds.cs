using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Commands;

/// <summary>Descriptors passed with SCM_RIGHTS: getfd names one, closefd closes it.</summary>
public sealed partial class QmpCommandHandlers
{
    public ValueTask GetfdAsync(GetfdArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        Monitor(context).GetFd(args.Fdname);
        return ValueTask.CompletedTask;
    }

    public ValueTask ClosefdAsync(ClosefdArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        Monitor(context).CloseFd(args.Fdname);
        return ValueTask.CompletedTask;
    }
}
