namespace Netdevd.Qapi.Objects;

/// <summary>
/// JSON number, kept the way QEMU's parser keeps it: an integer token is int64 when it
/// fits, else uint64 when it fits and is not negative, else a double.
/// </summary>
public sealed class QNum : QObject
{
    private readonly long _i;
    private readonly ulong _u;
    private readonly double _d;

    public QNum(long value)
    {
        Kind = QNumKind.Int64;
        _i = value;
    }

    public QNum(ulong value)
    {
        Kind = QNumKind.UInt64;
        _u = value;
    }

    public QNum(double value)
    {
        Kind = QNumKind.Double;
        _d = value;
    }

    public QNumKind Kind { get; }

    public override QType Type => QType.Number;

    /// <summary>The value as int64, when it is an integer that fits (QEMU's qnum_get_try_int).</summary>
    public bool TryGetInt64(out long value)
    {
        switch (Kind)
        {
            case QNumKind.Int64:
                value = _i;
                return true;
            case QNumKind.UInt64 when _u <= long.MaxValue:
                value = (long)_u;
                return true;
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>The value as uint64, when it is a non-negative integer that fits (QEMU's qnum_get_try_uint).</summary>
    public bool TryGetUInt64(out ulong value)
    {
        switch (Kind)
        {
            case QNumKind.Int64 when _i >= 0:
                value = (ulong)_i;
                return true;
            case QNumKind.UInt64:
                value = _u;
                return true;
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>The value as a double (every number converts).</summary>
    public double GetDouble() => Kind switch
    {
        QNumKind.Int64 => _i,
        QNumKind.UInt64 => _u,
        _ => _d,
    };

    /// <summary>The raw int64 (valid when <see cref="Kind"/> is Int64).</summary>
    public long Int64Value => _i;

    /// <summary>The raw uint64 (valid when <see cref="Kind"/> is UInt64).</summary>
    public ulong UInt64Value => _u;

    /// <summary>The raw double (valid when <see cref="Kind"/> is Double).</summary>
    public double DoubleValue => _d;
}

/// <summary>How a <see cref="QNum"/> stores its value.</summary>
public enum QNumKind
{
    Int64,
    UInt64,
    Double,
}
