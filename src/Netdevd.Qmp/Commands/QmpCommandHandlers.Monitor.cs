using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Commands;

/// <summary>Negotiation and process control: qmp_capabilities, quit.</summary>
public sealed partial class QmpCommandHandlers
{
    public ValueTask QmpCapabilitiesAsync(QmpCapabilitiesArguments args, QapiCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        var monitor = Monitor(context);
        if (monitor.Negotiated)
        {
            throw new QapiException(QapiErrorClass.CommandNotFound, "Capabilities negotiation is already complete, command ignored");
        }

        // netdevd offers no capability (the greeting lists none), so any request is refused.
        if (args.Enable is { Count: > 0 } enable)
        {
            var names = new List<string>(enable.Count);
            foreach (var c in enable)
            {
                names.Add(c.ToQapi());
            }

            throw new QapiException($"Capability {string.Join(", ", names)} not available");
        }

        monitor.Negotiated = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask QuitAsync(QapiCommandContext context)
    {
        // Asynchronously, so that the host's shutdown never runs inside this command (it waits
        // for the sessions, which wait for this command).
        _ = _quit.CancelAsync();
        return ValueTask.CompletedTask;
    }
}
