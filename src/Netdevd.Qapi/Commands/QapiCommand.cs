using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Commands;

/// <summary>One entry of the generated command table: validates arguments, calls the handler, returns its result as a QObject.</summary>
public sealed class QapiCommand(
    string name,
    bool allowPreconfig,
    bool allowOob,
    Func<QDict, QapiCommandContext, ValueTask<QObject>> invoke)
{
    public string Name { get; } = name;

    public bool AllowPreconfig { get; } = allowPreconfig;

    public bool AllowOob { get; } = allowOob;

    public ValueTask<QObject> InvokeAsync(QDict arguments, QapiCommandContext context) => invoke(arguments, context);
}
