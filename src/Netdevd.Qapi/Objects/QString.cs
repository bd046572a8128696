namespace Netdevd.Qapi.Objects;

/// <summary>JSON string.</summary>
public sealed class QString(string value) : QObject
{
    public string Value { get; } = value;

    public override QType Type => QType.String;
}
