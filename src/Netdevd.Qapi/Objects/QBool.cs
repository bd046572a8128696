namespace Netdevd.Qapi.Objects;

/// <summary>JSON true or false.</summary>
public sealed class QBool : QObject
{
    public static readonly QBool True = new(true);
    public static readonly QBool False = new(false);

    private QBool(bool value) => Value = value;

    public bool Value { get; }

    public override QType Type => QType.Bool;

    public static QBool From(bool value) => value ? True : False;
}
