using System.Text;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Parsing;

namespace Netdevd.Qapi.Options;

/// <summary>
/// QEMU's legacy option syntax (util/qemu-option.c) for an option list that accepts any
/// key, as -netdev's does: <c>name=value,...</c>, <c>,,</c> for a literal comma, the first
/// item without '=' taken as the value of the implied key (<c>user,...</c> = <c>type=user,...</c>),
/// a later bare <c>foo</c> meaning <c>foo=on</c> and <c>nofoo</c> meaning <c>foo=off</c>
/// (deprecated; reported through the warning callback). <c>id=</c> is taken out as the id.
/// </summary>
public static class QemuOptsParser
{
    /// <summary>
    /// Parses <paramref name="parameters"/>. An id must be an identifier
    /// (<c>Parameter 'id' expects an identifier</c>). <paramref name="warn"/> receives QEMU's
    /// two-line warning for deprecated short-form booleans.
    /// </summary>
    public static QemuOpts Parse(string parameters, string? impliedKey, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var id = FindId(parameters);
        if (id is not null && !QemuId.IsWellFormed(id))
        {
            throw new QapiException("Parameter 'id' expects an identifier") { Hint = QemuId.Hint };
        }

        var opts = new QemuOpts(id);
        Parse(opts, parameters, impliedKey, warn);
        return opts;
    }

    /// <summary>Adds the options of <paramref name="parameters"/> to <paramref name="opts"/> (qemu_opts_do_parse); id items are skipped.</summary>
    public static void Parse(QemuOpts opts, string parameters, string? impliedKey, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(opts);
        ArgumentNullException.ThrowIfNull(parameters);
        var pos = 0;
        while (pos < parameters.Length)
        {
            pos = NextItem(parameters, pos, impliedKey, warn, out var name, out var value);
            impliedKey = null;
            if (!string.Equals(name, "id", StringComparison.Ordinal))
            {
                opts.Add(name, value);
            }
        }
    }

    /// <summary>The value of the first <c>id</c> item, read as QEMU's opts_parse_id reads it (no implied key).</summary>
    private static string? FindId(string parameters)
    {
        var pos = 0;
        while (pos < parameters.Length)
        {
            pos = NextItem(parameters, pos, null, null, out var name, out var value);
            if (string.Equals(name, "id", StringComparison.Ordinal))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>QEMU's get_opt_name_value: one item starting at <paramref name="pos"/>; returns where the next starts.</summary>
    private static int NextItem(string p, int pos, string? firstName, Action<string>? warn, out string name, out string value)
    {
        var len = p.AsSpan(pos).IndexOfAny('=', ',');
        if (len < 0)
        {
            len = p.Length - pos;
        }

        int end;
        if (pos + len == p.Length || p[pos + len] != '=')
        {
            if (firstName is not null)
            {
                name = firstName;
                end = ReadValue(p, pos, out value);
            }
            else
            {
                // A flag: "foo" is foo=on, "nofoo" is foo=off.
                name = p.Substring(pos, len);
                end = pos + len;
                var prefix = string.Empty;
                var isHelp = false;
                if (name.StartsWith("no", StringComparison.Ordinal))
                {
                    name = name[2..];
                    value = "off";
                    prefix = "no";
                }
                else
                {
                    value = "on";
                    isHelp = name is "help" or "?";
                }

                if (!isHelp && warn is not null)
                {
                    var hint = name == "delay"
                        ? $"Please use nodelay={(prefix.Length > 0 ? "on" : "off")} instead"
                        : $"Please use {name}={value} instead";
                    warn($"short-form boolean option '{prefix}{name}' deprecated\n{hint}");
                }
            }
        }
        else
        {
            name = p.Substring(pos, len);
            end = ReadValue(p, pos + len + 1, out value);
        }

        return end < p.Length && p[end] == ',' ? end + 1 : end;
    }

    /// <summary>QEMU's get_opt_value: up to the next single comma, ",," standing for ','.</summary>
    private static int ReadValue(string p, int pos, out string value)
    {
        var sb = new StringBuilder();
        while (true)
        {
            var comma = p.IndexOf(',', pos);
            if (comma < 0)
            {
                sb.Append(p, pos, p.Length - pos);
                value = sb.ToString();
                return p.Length;
            }

            sb.Append(p, pos, comma - pos);
            if (comma + 1 < p.Length && p[comma + 1] == ',')
            {
                sb.Append(',');
                pos = comma + 2;
                continue;
            }

            value = sb.ToString();
            return comma;
        }
    }
}
