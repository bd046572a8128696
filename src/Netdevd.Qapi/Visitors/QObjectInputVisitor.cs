using System.Globalization;
using System.Text;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Parsing;

namespace Netdevd.Qapi.Visitors;

/// <summary>
/// QEMU's qobject-input-visitor: builds typed values from a QObject tree.
/// Strict mode (QMP and command-line JSON): JSON types must match the schema.
/// Keyval mode (dicts from <see cref="Options.KeyvalParser"/>): every scalar is a string,
/// converted to the type the schema asks for. Errors name the member by its full path
/// (<c>addr.port</c>, <c>hostfwd[0].str</c>; keyval spells list elements <c>hostfwd.0.str</c>).
/// </summary>
public sealed class QObjectInputVisitor : IQapiInputVisitor
{
    private readonly QObject _root;
    private readonly bool _keyval;
    private readonly List<Frame> _stack = [];

    public QObjectInputVisitor(QObject root, bool keyval = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        _root = root;
        _keyval = keyval;
    }

    public void StartStruct(string? name)
    {
        var obj = GetObject(name, consume: true);
        if (obj is not QDict dict)
        {
            throw QapiErrors.InvalidType(FullName(name), "object");
        }

        _stack.Add(new Frame(name, dict));
    }

    public void CheckStruct()
    {
        var frame = Top();
        if (frame.Dict is null)
        {
            throw new InvalidOperationException("CheckStruct outside a struct");
        }

        // QEMU names the first leftover in hash order; ours is the first in input order.
        foreach (var key in frame.Dict.Keys)
        {
            if (frame.Unvisited!.Contains(key))
            {
                throw QapiErrors.Unexpected(FullName(key));
            }
        }
    }

    public void EndStruct() => Pop(isList: false);

    public bool StartList(string? name)
    {
        var obj = GetObject(name, consume: true);
        if (obj is not QList list)
        {
            throw QapiErrors.InvalidType(FullName(name), "array");
        }

        _stack.Add(new Frame(name, list));
        return true;
    }

    public bool NextListElement()
    {
        var frame = Top();
        if (frame.List is null)
        {
            throw new InvalidOperationException("NextListElement outside a list");
        }

        return frame.Entry < frame.List.Count;
    }

    public void EndList() => Pop(isList: true);

    public bool OptionalPresent(string name) => TryGetObject(name, consume: false) is not null;

    public long TypeInt64(string? name)
    {
        if (_keyval)
        {
            var s = GetKeyval(name);
            if (!CStrtol.TryQemuStrtoI64(s, 0, out var v))
            {
                throw QapiErrors.InvalidValue(FullName(name), "integer");
            }

            return v;
        }

        if (GetObject(name, consume: true) is QNum n && n.TryGetInt64(out var i))
        {
            return i;
        }

        throw QapiErrors.InvalidType(FullName(name), "integer");
    }

    public ulong TypeUInt64(string? name)
    {
        if (_keyval)
        {
            var s = GetKeyval(name);
            if (!CStrtol.TryQemuStrtoU64(s, 0, out var v))
            {
                throw QapiErrors.InvalidValue(FullName(name), "integer");
            }

            return v;
        }

        if (GetObject(name, consume: true) is QNum n)
        {
            if (n.TryGetUInt64(out var u))
            {
                return u;
            }

            // QEMU accepts negative integers for backward compatibility; they wrap.
            if (n.TryGetInt64(out var i))
            {
                return unchecked((ulong)i);
            }
        }

        throw QapiErrors.InvalidValue(FullName(name), "uint64");
    }

    public ulong TypeSize(string? name)
    {
        // QMP has no size type of its own: a size is a uint64 there.
        if (!_keyval)
        {
            return TypeUInt64(name);
        }

        var s = GetKeyval(name);
        if (!QemuSize.TryParse(s, out var size))
        {
            throw QapiErrors.InvalidValue(FullName(name), "size");
        }

        return size;
    }

    public bool TypeBool(string? name)
    {
        if (_keyval)
        {
            var s = GetKeyval(name);
            if (!QapiBool.TryParse(s, out var b))
            {
                throw QapiErrors.InvalidValue(FullName(name), "'on' or 'off'");
            }

            return b;
        }

        if (GetObject(name, consume: true) is QBool q)
        {
            return q.Value;
        }

        throw QapiErrors.InvalidType(FullName(name), "boolean");
    }

    public string TypeStr(string? name)
    {
        if (_keyval)
        {
            return GetKeyval(name);
        }

        if (GetObject(name, consume: true) is QString s)
        {
            return s.Value;
        }

        throw QapiErrors.InvalidType(FullName(name), "string");
    }

    public double TypeNumber(string? name)
    {
        if (_keyval)
        {
            var s = GetKeyval(name);
            if (!CStrtod.TryQemuStrtodFinite(s, out var d))
            {
                throw QapiErrors.InvalidType(FullName(name), "number");
            }

            return d;
        }

        if (GetObject(name, consume: true) is QNum n)
        {
            return n.GetDouble();
        }

        throw QapiErrors.InvalidType(FullName(name), "number");
    }

    public QObject TypeAny(string? name) => GetObject(name, consume: true);

    public void TypeNull(string? name)
    {
        if (GetObject(name, consume: true) is not QNull)
        {
            throw QapiErrors.InvalidType(FullName(name), "null");
        }
    }

    /// <summary>QEMU's full_name(): the path from the root to <paramref name="name"/> in the current container.</summary>
    public string FullName(string? name)
    {
        // Built back to front like QEMU's, which matters for unnamed (list element) levels.
        var parts = new List<string>(_stack.Count * 2);
        for (var i = _stack.Count - 1; i >= 0; i--)
        {
            var frame = _stack[i];
            if (frame.Dict is not null)
            {
                parts.Add(name ?? "<anonymous>");
                parts.Add(".");
            }
            else
            {
                var index = unchecked((uint)frame.Index).ToString(CultureInfo.InvariantCulture);
                parts.Add(_keyval ? "." + index : "[" + index + "]");
            }

            name = frame.Name;
        }

        var sb = new StringBuilder();
        if (name is not null)
        {
            sb.Append(name);
        }

        for (var i = parts.Count - 1; i >= 0; i--)
        {
            sb.Append(parts[i]);
        }

        if (name is null)
        {
            if (sb.Length > 0 && sb[0] == '.')
            {
                sb.Remove(0, 1);
            }
            else if (sb.Length == 0)
            {
                return "<anonymous>";
            }
        }

        return sb.ToString();
    }

    private Frame Top() => _stack.Count > 0 ? _stack[^1] : throw new InvalidOperationException("Not inside a struct or list");

    private void Pop(bool isList)
    {
        var frame = Top();
        if ((frame.List is not null) != isList)
        {
            throw new InvalidOperationException(isList ? "EndList inside a struct" : "EndStruct inside a list");
        }

        _stack.RemoveAt(_stack.Count - 1);
    }

    private QObject? TryGetObject(string? name, bool consume)
    {
        if (_stack.Count == 0)
        {
            // At the root the name is irrelevant.
            return _root;
        }

        var frame = _stack[^1];
        if (frame.Dict is not null)
        {
            ArgumentNullException.ThrowIfNull(name);
            var value = frame.Dict.Get(name);
            if (consume && value is not null)
            {
                frame.Unvisited!.Remove(name);
            }

            return value;
        }

        QObject? element = frame.Entry < frame.List!.Count ? frame.List[frame.Entry] : null;
        if (consume)
        {
            if (element is not null)
            {
                frame.Entry++;
            }

            frame.Index++;
        }

        return element;
    }

    private QObject GetObject(string? name, bool consume) =>
        TryGetObject(name, consume) ?? throw QapiErrors.Missing(FullName(name));

    /// <summary>A scalar in keyval mode: always a string; a dict or list here means dotted keys were given for a scalar.</summary>
    private string GetKeyval(string? name)
    {
        var obj = GetObject(name, consume: true);
        return obj switch
        {
            QString s => s.Value,
            QDict or QList => throw new QapiException($"Parameters '{FullName(name)}.*' are unexpected"),
            _ => throw new QapiException($"Internal error: parameter {FullName(name)} invalid"),
        };
    }

    private sealed class Frame
    {
        public Frame(string? name, QDict dict)
        {
            Name = name;
            Dict = dict;
            Unvisited = new HashSet<string>(dict.Keys, StringComparer.Ordinal);
        }

        public Frame(string? name, QList list)
        {
            Name = name;
            List = list;
            Index = -1;
        }

        public string? Name { get; }

        public QDict? Dict { get; }

        public HashSet<string>? Unvisited { get; }

        public QList? List { get; }

        /// <summary>The next unvisited element.</summary>
        public int Entry { get; set; }

        /// <summary>The index of the element being visited (QEMU counts from -1, before the first).</summary>
        public int Index { get; set; }
    }
}
