namespace Netdevd.Qapi.Options;

/// <summary>
/// One parsed option group in QEMU's legacy QemuOpts form: an optional id and the
/// name=value pairs in input order, repeats included (later ones win for scalars,
/// all count for list members).
/// </summary>
public sealed class QemuOpts
{
    private readonly List<KeyValuePair<string, string>> _options = [];

    public QemuOpts(string? id) => Id = id;

    public string? Id { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Options => _options;

    /// <summary>The last value given for <paramref name="name"/> (qemu_opt_get), or null.</summary>
    public string? Get(string name)
    {
        for (var i = _options.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_options[i].Key, name, StringComparison.Ordinal))
            {
                return _options[i].Value;
            }
        }

        return null;
    }

    public void Add(string name, string value) => _options.Add(new(name, value));

    /// <summary>Removes the last occurrence of <paramref name="name"/> (qemu_opt_unset).</summary>
    public bool RemoveLast(string name)
    {
        for (var i = _options.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_options[i].Key, name, StringComparison.Ordinal))
            {
                _options.RemoveAt(i);
                return true;
            }
        }

        return false;
    }
}
