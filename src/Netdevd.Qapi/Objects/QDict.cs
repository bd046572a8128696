using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Netdevd.Qapi.Objects;

/// <summary>
/// JSON object. Keeps insertion order so that what we emit is stable and readable
/// (QEMU emits hash order; clients must not depend on order either way).
/// </summary>
public sealed class QDict : QObject, IEnumerable<KeyValuePair<string, QObject>>
{
    private readonly List<KeyValuePair<string, QObject>> _entries = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public override QType Type => QType.Dict;

    public int Count => _entries.Count;

    public IEnumerable<string> Keys
    {
        get
        {
            foreach (var e in _entries)
            {
                yield return e.Key;
            }
        }
    }

    /// <summary>Sets a member, replacing an existing one in place.</summary>
    public QDict Put(string key, QObject value)
    {
        if (_index.TryGetValue(key, out var i))
        {
            _entries[i] = new(key, value);
        }
        else
        {
            _index[key] = _entries.Count;
            _entries.Add(new(key, value));
        }

        return this;
    }

    public QDict Put(string key, string value) => Put(key, new QString(value));

    public QDict Put(string key, long value) => Put(key, new QNum(value));

    public QDict Put(string key, bool value) => Put(key, QBool.From(value));

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out QObject value)
    {
        if (_index.TryGetValue(key, out var i))
        {
            value = _entries[i].Value;
            return true;
        }

        value = null;
        return false;
    }

    public QObject? Get(string key) => TryGetValue(key, out var v) ? v : null;

    /// <summary>Removes a member; later members keep their relative order.</summary>
    public bool Remove(string key)
    {
        if (!_index.TryGetValue(key, out var i))
        {
            return false;
        }

        _entries.RemoveAt(i);
        _index.Remove(key);
        for (var j = i; j < _entries.Count; j++)
        {
            _index[_entries[j].Key] = j;
        }

        return true;
    }

    /// <summary>A shallow copy (members are shared).</summary>
    public QDict Clone()
    {
        var d = new QDict();
        foreach (var e in _entries)
        {
            d.Put(e.Key, e.Value);
        }

        return d;
    }

    public IEnumerator<KeyValuePair<string, QObject>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
