using Netdevd.Core.Registry;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.Qmp.Session;

namespace Netdevd.Qmp.Commands;

/// <summary>
/// netdevd's QMP commands, one method per command of the schema. The methods live in partial
/// files by concern: monitor and negotiation, queries, netdevs, descriptors.
/// </summary>
public sealed partial class QmpCommandHandlers : IQapiCommandHandlers, IDisposable
{
    private readonly NetdevRegistry _registry;
    private readonly CancellationTokenSource _quit = new();
    private IReadOnlyDictionary<string, QapiCommand>? _commands;

    public QmpCommandHandlers(NetdevRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
    }

    /// <summary>The command table over these handlers (what a <see cref="Server.QmpServer"/> serves).</summary>
    public IReadOnlyDictionary<string, QapiCommand> Commands => _commands ??= QapiCommandTable.Create(this);

    /// <summary>Cancelled when a client sent <c>quit</c>: the host should shut down.</summary>
    public CancellationToken QuitRequested => _quit.Token;

    public void Dispose() => _quit.Dispose();

    /// <summary>The session state of the monitor a command came from (QEMU's monitor_cur()).</summary>
    private static QmpMonitor Monitor(QapiCommandContext context) =>
        context?.Fds as QmpMonitor ?? throw new QapiException("This command is only available in a QMP monitor");
}
