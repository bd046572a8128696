using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Schema;
using Netdevd.Qmp.Server;

namespace Netdevd.Qmp.Commands;

/// <summary>Introspection: query-version, query-commands, query-qmp-schema.</summary>
public sealed partial class QmpCommandHandlers
{
    public ValueTask<VersionInfo> QueryVersionAsync(QapiCommandContext context) => ValueTask.FromResult(QmpVersion.Create());

    public ValueTask<IReadOnlyList<CommandInfo>> QueryCommandsAsync(QapiCommandContext context)
    {
        var list = new List<CommandInfo>(Commands.Count);
        foreach (var name in Commands.Keys)
        {
            list.Add(new CommandInfo { Name = name });
        }

        return ValueTask.FromResult<IReadOnlyList<CommandInfo>>(list);
    }

    public ValueTask<QObject> QueryQmpSchemaAsync(QDict arguments, QapiCommandContext context) =>
        ValueTask.FromResult<QObject>(QapiIntrospection.SchemaInfo);
}
