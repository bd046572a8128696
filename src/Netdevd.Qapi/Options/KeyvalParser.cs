using System.Globalization;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Options;

/// <summary>
/// QEMU's keyval_parse (util/keyval.c): <c>key=value,...</c> into a QDict whose leaves are
/// QStrings. Dotted keys nest (<c>addr.host=h</c>), numeric fragments make lists
/// (<c>x.0=a,x.1=b</c>, no gaps), <c>,,</c> is a literal comma, the last of repeated keys
/// wins, and the first item may omit <c>implied_key=</c> (then it can contain neither '='
/// nor ','). A bare <c>help</c> or <c>?</c> is a help request.
/// </summary>
public static class KeyvalParser
{
    private const int MaxFragment = 127;

    /// <summary>Parses; a help request fails with <c>Help is not available for this option</c>.</summary>
    public static QDict Parse(string parameters, string? impliedKey)
    {
        var dict = Parse(parameters, impliedKey, out var help);
        if (help)
        {
            throw new QapiException("Help is not available for this option");
        }

        return dict;
    }

    /// <summary>Parses and reports whether <c>help</c> or <c>?</c> was among the items.</summary>
    public static QDict Parse(string parameters, string? impliedKey, out bool help)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var root = new QDict();
        help = false;
        var pos = 0;
        while (pos < parameters.Length)
        {
            pos = ParseOne(root, parameters, pos, impliedKey, ref help);
            impliedKey = null;
        }

        var listified = Listify(root, []);
        System.Diagnostics.Debug.Assert(ReferenceEquals(listified, root), "the root never becomes a list");
        return root;
    }

    private static int ParseOne(QDict root, string p, int start, string? impliedKey, ref bool help)
    {
        // The key is p[keyStart..keyEnd] unless it is implied (then it is impliedKey).
        var len = IndexOfAny(p, start, '=', ',') - start;
        var keyText = p;
        var keyStart = start;
        var valueEnd = -1;
        if (len > 0 && (start + len == p.Length || p[start + len] != '='))
        {
            if (StartsWithHelp(p, start) == len)
            {
                help = true;
                var s = start + len;
                return s < p.Length && p[s] == ',' ? s + 1 : s;
            }

            if (impliedKey is not null)
            {
                keyText = impliedKey;
                keyStart = 0;
                valueEnd = start + len;
                len = impliedKey.Length;
            }
        }

        var keyEnd = keyStart + len;
        var cur = root;
        string? inCur = null;
        var f = keyStart;
        while (true)
        {
            // A list index (except for the first fragment) or a QAPI name.
            int fragment;
            if (f != keyStart && IndexLength(keyText, f) is var idx and > 0)
            {
                fragment = idx;
            }
            else
            {
                fragment = Math.Max(0, QapiNameLength(keyText, f));
            }

            if (fragment == 0 || (f + fragment < keyEnd && keyText[f + fragment] != '.'))
            {
                throw new QapiException($"Invalid parameter '{keyText[keyStart..keyEnd]}'");
            }

            if (fragment > MaxFragment)
            {
                var which = f != keyStart || f + fragment != keyEnd ? " fragment" : string.Empty;
                throw new QapiException($"Parameter{which} '{keyText.Substring(f, fragment)}' is too long");
            }

            if (inCur is not null)
            {
                cur = (QDict)Put(cur, inCur, null, keyText[keyStart..(f - 1)]);
            }

            inCur = keyText.Substring(f, fragment);
            f += fragment;
            if (f >= keyText.Length || keyText[f] != '.' || f >= keyEnd)
            {
                break;
            }

            f++;
        }

        string value;
        int next;
        if (valueEnd >= 0)
        {
            value = p[start..valueEnd];
            next = valueEnd < p.Length && p[valueEnd] == ',' ? valueEnd + 1 : valueEnd;
        }
        else
        {
            if (f >= p.Length || p[f] != '=')
            {
                throw new QapiException($"Expected '=' after parameter '{p[keyStart..f]}'");
            }

            var sb = new System.Text.StringBuilder();
            var s = f + 1;
            while (s < p.Length)
            {
                if (p[s] == ',')
                {
                    s++;
                    if (s >= p.Length || p[s] != ',')
                    {
                        break;
                    }
                }

                sb.Append(p[s++]);
            }

            value = sb.ToString();
            next = s;
        }

        Put(cur, inCur, new QString(value), keyText[keyStart..keyEnd]);
        return next;
    }

    /// <summary>
    /// Makes <paramref name="key"/> in <paramref name="cur"/> a dict (value null) or the string
    /// <paramref name="value"/>; a conflict with what is there already is an error.
    /// </summary>
    private static QObject Put(QDict cur, string key, QString? value, string keySoFar)
    {
        var old = cur.Get(key);
        if (old is not null)
        {
            if (value is null ? old is not QDict : old is not QString)
            {
                throw new QapiException($"Parameters '{keySoFar}.*' used inconsistently");
            }

            if (value is null)
            {
                return old;
            }
        }

        QObject created = value is null ? new QDict() : value;
        cur.Put(key, created);
        return created;
    }

    /// <summary>Replaces, depth first, every dict whose keys are all list indexes by a list.</summary>
    private static QObject Listify(QDict cur, List<string> path)
    {
        var hasIndex = false;
        var hasMember = false;
        List<KeyValuePair<string, QObject>>? replacements = null;
        foreach (var entry in cur)
        {
            if (IndexLength(entry.Key, 0) == entry.Key.Length)
            {
                hasIndex = true;
            }
            else
            {
                hasMember = true;
            }

            if (entry.Value is not QDict child)
            {
                continue;
            }

            path.Add(entry.Key);
            var value = Listify(child, path);
            path.RemoveAt(path.Count - 1);
            if (!ReferenceEquals(value, child))
            {
                (replacements ??= []).Add(new(entry.Key, value));
            }
        }

        if (replacements is not null)
        {
            foreach (var r in replacements)
            {
                cur.Put(r.Key, r.Value);
            }
        }

        if (hasIndex && hasMember)
        {
            throw new QapiException($"Parameters '{Reassemble(path)}*' used inconsistently");
        }

        if (!hasIndex)
        {
            return cur;
        }

        // Index n lands in slot n; with as many slots as members (plus a sentinel), any gap
        // shows up as a missing slot below the largest index.
        var slots = new QObject?[cur.Count + 1];
        var maxIndex = -1;
        foreach (var entry in cur)
        {
            var index = IndexValue(entry.Key);
            maxIndex = Math.Max(maxIndex, index);
            if (index < slots.Length - 1)
            {
                slots[index] = entry.Value;
            }
        }

        var list = new QList();
        for (var i = 0; i < Math.Min(slots.Length, maxIndex + 1); i++)
        {
            var item = slots[i] ?? throw new QapiException($"Parameter '{Reassemble(path)}{i.ToString(CultureInfo.InvariantCulture)}' missing");
            list.Add(item);
        }

        return list;
    }

    private static string Reassemble(List<string> path)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var fragment in path)
        {
            sb.Append(fragment).Append('.');
        }

        return sb.ToString();
    }

    /// <summary>Length of the run of decimal digits at <paramref name="i"/> (QEMU's key_to_index), 0 if none.</summary>
    private static int IndexLength(string s, int i)
    {
        var j = i;
        while (j < s.Length && char.IsAsciiDigit(s[j]))
        {
            j++;
        }

        return j - i;
    }

    /// <summary>A key of digits as a list index, capped at int.MaxValue as QEMU caps it.</summary>
    private static int IndexValue(string key)
    {
        long value = 0;
        foreach (var c in key)
        {
            value = Math.Min(int.MaxValue, (value * 10) + (c - '0'));
        }

        return (int)value;
    }

    /// <summary>
    /// QEMU's parse_qapi_name(s, complete=false): optional downstream prefix <c>__RFQDN_</c>,
    /// then a letter followed by letters, digits, '-' and '_'. Returns the length or -1.
    /// </summary>
    private static int QapiNameLength(string s, int start)
    {
        var p = start;
        if (p < s.Length && s[p] == '_')
        {
            p++;
            if (p >= s.Length || s[p] != '_')
            {
                return -1;
            }

            p++;
            while (p < s.Length && (char.IsAsciiLetterOrDigit(s[p]) || s[p] == '-' || s[p] == '.'))
            {
                p++;
            }

            if (p >= s.Length || s[p] != '_')
            {
                return -1;
            }

            p++;
        }

        if (p >= s.Length || !char.IsAsciiLetter(s[p]))
        {
            return -1;
        }

        p++;
        while (p < s.Length && (char.IsAsciiLetterOrDigit(s[p]) || s[p] == '-' || s[p] == '_'))
        {
            p++;
        }

        return p - start;
    }

    /// <summary>QEMU's starts_with_help_option: 1 for "?", 4 for a "help" prefix, else 0.</summary>
    private static int StartsWithHelp(string s, int i)
    {
        if (i < s.Length && s[i] == '?')
        {
            return 1;
        }

        return string.CompareOrdinal(s, i, "help", 0, 4) == 0 && i + 4 <= s.Length ? 4 : 0;
    }

    private static int IndexOfAny(string s, int start, char a, char b)
    {
        var i = s.AsSpan(start).IndexOfAny(a, b);
        return i < 0 ? s.Length : start + i;
    }
}
