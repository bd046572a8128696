namespace Netdevd.Qapi.Objects;

/// <summary>JSON null.</summary>
public sealed class QNull : QObject
{
    public static readonly QNull Instance = new();

    private QNull()
    {
    }

    public override QType Type => QType.Null;
}
