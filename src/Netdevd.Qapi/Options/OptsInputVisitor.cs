using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Parsing;
using Netdevd.Qapi.Visitors;

namespace Netdevd.Qapi.Options;

/// <summary>
/// QEMU's opts-visitor (qapi/opts-visitor.c): visits a <see cref="QemuOpts"/> as a QAPI type.
/// The input is flat: a nested struct reads its members from the same options. For a
/// scalar the last occurrence of its key counts; a list member takes every occurrence of
/// its key, one element each (lists of integers also accept ranges such as <c>1-4</c>).
/// The id travels as an option named <c>id</c>. Errors name the option alone:
/// <c>Invalid parameter 'x'</c>, <c>Parameter 'x' expects an int64 value</c>, ...
/// </summary>
public sealed class OptsInputVisitor : IQapiInputVisitor
{
    /// <summary>QEMU's OPTS_VISITOR_RANGE_MAX: the most elements one range may expand to.</summary>
    private const ulong RangeMax = 65536;

    private readonly QemuOpts _opts;

    // Unprocessed options by name, every occurrence in order; _order keeps the names' first appearance.
    private Dictionary<string, List<string>>? _unprocessed;
    private List<string>? _order;
    private int _depth;

    private ListMode _listMode;
    private string? _listName;
    private List<string>? _repeated;
    private bool _firstElementPending;
    private long _rangeNextS;
    private long _rangeLimitS;
    private ulong _rangeNextU;
    private ulong _rangeLimitU;

    public OptsInputVisitor(QemuOpts opts)
    {
        ArgumentNullException.ThrowIfNull(opts);
        _opts = opts;
    }

    private enum ListMode
    {
        None,
        InProgress,
        SignedInterval,
        UnsignedInterval,
        Traversed,
    }

    public void StartStruct(string? name)
    {
        if (_depth++ > 0)
        {
            return;
        }

        _unprocessed = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        _order = [];
        foreach (var opt in _opts.Options)
        {
            Insert(opt.Key, opt.Value);
        }

        if (_opts.Id is not null)
        {
            Insert("id", _opts.Id);
        }
    }

    public void CheckStruct()
    {
        if (_depth > 1)
        {
            return;
        }

        foreach (var name in _order!)
        {
            if (_unprocessed!.ContainsKey(name))
            {
                throw new QapiException($"Invalid parameter '{name}'");
            }
        }
    }

    public void EndStruct()
    {
        if (--_depth > 0)
        {
            return;
        }

        _unprocessed = null;
        _order = null;
    }

    public bool StartList(string? name)
    {
        if (_listMode != ListMode.None)
        {
            throw new InvalidOperationException("A list in a list cannot come from options");
        }

        _repeated = LookupDistinct(name);
        _listName = name;
        _listMode = ListMode.InProgress;
        _firstElementPending = true;
        return true;
    }

    public bool NextListElement()
    {
        // QEMU's start_list already made the first element; its next_list makes the others.
        if (_firstElementPending)
        {
            _firstElementPending = false;
            return true;
        }

        switch (_listMode)
        {
            case ListMode.Traversed:
                return false;
            case ListMode.SignedInterval when _rangeNextS < _rangeLimitS:
                _rangeNextS++;
                return true;
            case ListMode.UnsignedInterval when _rangeNextU < _rangeLimitU:
                _rangeNextU++;
                return true;
            case ListMode.SignedInterval or ListMode.UnsignedInterval or ListMode.InProgress:
                // This occurrence (or its range) is done: move on to the next one.
                _listMode = ListMode.InProgress;
                _repeated!.RemoveAt(0);
                if (_repeated.Count == 0)
                {
                    _unprocessed!.Remove(_listName!);
                    _repeated = null;
                    _listMode = ListMode.Traversed;
                    return false;
                }

                return true;
            default:
                throw new InvalidOperationException("NextListElement outside a list");
        }
    }

    public void EndList()
    {
        _repeated = null;
        _listName = null;
        _listMode = ListMode.None;
    }

    public bool OptionalPresent(string name)
    {
        // Options can only express a single mandatory scalar per list element.
        return _listMode != ListMode.None
            ? throw new InvalidOperationException("Optional members cannot be list elements of options")
            : _unprocessed!.ContainsKey(name);
    }

    public long TypeInt64(string? name)
    {
        if (_listMode == ListMode.SignedInterval)
        {
            return _rangeNextS;
        }

        var (optName, str) = LookupScalar(name);
        var value = CStrtol.StrToLL(str, 0, 0, out var end, out var overflow);
        if (!overflow && end > 0)
        {
            if (end == str.Length)
            {
                Processed(name);
                return value;
            }

            if (str[end] == '-' && _listMode == ListMode.InProgress)
            {
                var value2 = CStrtol.StrToLL(str, end + 1, 0, out var end2, out var overflow2);
                if (!overflow2 && end2 > end + 1 && end2 == str.Length && value <= value2
                    && (value > long.MaxValue - (long)RangeMax || value2 < value + (long)RangeMax))
                {
                    _rangeNextS = value;
                    _rangeLimitS = value2;
                    _listMode = ListMode.SignedInterval;
                    return value;
                }
            }
        }

        throw QapiErrors.InvalidValue(optName, _listMode == ListMode.None ? "an int64 value" : "an int64 value or range");
    }

    public ulong TypeUInt64(string? name)
    {
        if (_listMode == ListMode.UnsignedInterval)
        {
            return _rangeNextU;
        }

        var (optName, str) = LookupScalar(name);
        if (CStrtol.ParseUInt(str, 0, 0, out var value, out var end) == 0)
        {
            if (end == str.Length)
            {
                Processed(name);
                return value;
            }

            if (str[end] == '-' && _listMode == ListMode.InProgress
                && CStrtol.ParseUIntFull(str, end + 1, 0, out var value2) == 0 && value <= value2 && value2 - value < RangeMax)
            {
                _rangeNextU = value;
                _rangeLimitU = value2;
                _listMode = ListMode.UnsignedInterval;
                return value;
            }
        }

        throw QapiErrors.InvalidValue(optName, _listMode == ListMode.None ? "a uint64 value" : "a uint64 value or range");
    }

    public ulong TypeSize(string? name)
    {
        var (optName, str) = LookupScalar(name);
        if (!QemuSize.TryParse(str, out var size))
        {
            throw QapiErrors.InvalidValue(optName, "a size value");
        }

        Processed(name);
        return size;
    }

    public bool TypeBool(string? name)
    {
        var (optName, str) = LookupScalar(name);
        if (!QapiBool.TryParse(str, out var value))
        {
            throw QapiErrors.InvalidValue(optName, "'on' or 'off'");
        }

        Processed(name);
        return value;
    }

    public string TypeStr(string? name)
    {
        var (_, str) = LookupScalar(name);

        // Consumed even when an enum visit then rejects the value, as in QEMU.
        Processed(name);
        return str;
    }

    /// <summary>QEMU's opts-visitor has no number visit (no netdev option needs one); this reads C's strtod.</summary>
    public double TypeNumber(string? name)
    {
        var (optName, str) = LookupScalar(name);
        if (!CStrtod.TryQemuStrtodFinite(str, out var value))
        {
            throw QapiErrors.InvalidValue(optName, "a number");
        }

        Processed(name);
        return value;
    }

    /// <summary>Not in QEMU's opts-visitor; the option's text as a string.</summary>
    public QObject TypeAny(string? name) => new QString(TypeStr(name));

    public void TypeNull(string? name) => throw new QapiException($"Invalid parameter '{name ?? "null"}'");

    /// <summary>Option errors use the option's own name.</summary>
    public string FullName(string? name) => name ?? "null";

    private void Insert(string name, string value)
    {
        if (!_unprocessed!.TryGetValue(name, out var queue))
        {
            queue = [];
            _unprocessed.Add(name, queue);
            _order!.Add(name);
        }

        queue.Add(value);
    }

    private List<string> LookupDistinct(string? name)
    {
        if (_unprocessed is null)
        {
            throw new InvalidOperationException("Options are visited as a struct");
        }

        return name is not null && _unprocessed.TryGetValue(name, out var queue) ? queue : throw QapiErrors.Missing(name ?? "null");
    }

    /// <summary>The option a scalar visit reads: the last occurrence, or the current list element.</summary>
    private (string OptName, string Value) LookupScalar(string? name)
    {
        switch (_listMode)
        {
            case ListMode.None:
                var queue = LookupDistinct(name);
                return (name!, queue[^1]);
            case ListMode.Traversed:
                throw new QapiException("Fewer list elements than expected");
            default:
                return (_listName ?? "null", _repeated![0]);
        }
    }

    private void Processed(string? name)
    {
        if (_listMode == ListMode.None && name is not null)
        {
            _unprocessed!.Remove(name);
        }
    }
}
