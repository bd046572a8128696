namespace Netdevd.Qapi.Objects;

/// <summary>
/// A JSON value as QEMU's QObject models it: dict, list, string, number, bool or null.
/// QMP input is parsed into this tree, validated by an input visitor, and QMP output
/// (returns, events, introspection) is built as this tree and formatted QEMU's way.
/// </summary>
public abstract class QObject
{
    /// <summary>The JSON type name QEMU uses in "Invalid parameter type ... expected: X" texts.</summary>
    public abstract QType Type { get; }

    /// <summary>Formats compactly with QEMU's separators (", " and ": ") and ASCII-only escapes.</summary>
    public override string ToString() => Json.QmpJsonFormatter.Format(this);
}

/// <summary>The kinds of <see cref="QObject"/>.</summary>
public enum QType
{
    Null,
    Number,
    String,
    Dict,
    List,
    Bool,
}
