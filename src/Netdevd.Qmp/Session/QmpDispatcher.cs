using Microsoft.Extensions.Logging;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;
using Netdevd.Qmp.Protocol;

namespace Netdevd.Qmp.Session;

/// <summary>
/// Turns one parsed request into one response, as QEMU's monitor_qmp_dispatch and
/// qmp_dispatch do: shape checks, the negotiation-mode command set, lookup, the command,
/// and errors as <c>{"error": ...}</c> with the request's id.
/// </summary>
internal sealed class QmpDispatcher(IReadOnlyDictionary<string, QapiCommand> commands, ILogger logger)
{
    /// <summary>The only command that exists before negotiation.</summary>
    public const string CapabilitiesCommand = "qmp_capabilities";

    public IReadOnlyDictionary<string, QapiCommand> Commands { get; } = commands;

    public async ValueTask<byte[]> DispatchAsync(QObject request, QmpMonitor monitor, CancellationToken cancellationToken)
    {
        if (request is not QDict dict)
        {
            return QmpMessages.Error(QapiErrorClass.GenericError, "QMP input must be a JSON object", null);
        }

        var id = dict.Get("id");
        var negotiating = !monitor.Negotiated;
        try
        {
            var (name, arguments) = QmpRequest.Check(dict);
            if ((negotiating && name != CapabilitiesCommand) || !Commands.TryGetValue(name, out var command))
            {
                throw new QapiException(QapiErrorClass.CommandNotFound, $"The command {name} has not been found");
            }

            var result = await command.InvokeAsync(arguments, new QapiCommandContext(monitor, cancellationToken)).ConfigureAwait(false);
            return QmpMessages.Return(result, id);
        }
        catch (QapiException e)
        {
            // What QEMU would error_report before the error goes to its stderr, not to the client.
            if (e.PrecedingReport is { } report)
            {
                QmpLog.PrecedingReport(logger, report);
            }

            // In negotiation mode QEMU replaces every CommandNotFound text with a hint.
            var text = negotiating && e.ErrorClass == QapiErrorClass.CommandNotFound
                ? "Expecting capabilities negotiation with 'qmp_capabilities'"
                : e.Message;
            return QmpMessages.Error(e.ErrorClass, text, id);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A bug in a handler must cost one error response, never the session or the server,
            // whatever it threw (even an exception that cannot describe itself).
            QmpLog.CommandFailed(logger, (dict.Get("execute") as QString)?.Value ?? "?", ExceptionText.Full(e));
            return QmpMessages.Error(QapiErrorClass.GenericError, ExceptionText.Message(e), id);
        }
    }
}
