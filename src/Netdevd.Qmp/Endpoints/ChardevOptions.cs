namespace Netdevd.Qmp.Endpoints;

/// <summary>
/// The <c>key=value,...</c> tail of a compat chardev spec, parsed as QEMU's QemuOpts does it
/// (qemu_opts_do_parse): <c>,,</c> stands for a comma in a value, a bare <c>key</c> means
/// <c>key=on</c>, and the first bare word may be the implied option (<c>unix:PATH</c>).
/// </summary>
internal static class ChardevOptions
{
    /// <summary>Every option QEMU's chardev QemuOpts list declares; other keys are "Invalid parameter".</summary>
    private static readonly HashSet<string> s_qemuKnown = new(StringComparer.Ordinal)
    {
        "backend", "path", "input-path", "host", "port", "fd", "localaddr", "localport", "to",
        "ipv4", "ipv6", "wait", "server", "delay", "nodelay", "reconnect", "reconnect-ms",
        "telnet", "tn3270", "tls-creds", "tls-authz", "websocket", "width", "height", "cols",
        "rows", "mux", "signal", "name", "debug", "size", "chardev", "append", "logfile",
        "logappend", "mouse", "clipboard", "tight", "abstract",
    };

    /// <summary>QemuOpts bool options among those (their values must be on/off words).</summary>
    private static readonly HashSet<string> s_boolOptions = new(StringComparer.Ordinal)
    {
        "ipv4", "ipv6", "wait", "server", "delay", "nodelay", "telnet", "tn3270", "websocket",
        "mux", "signal", "append", "logappend", "mouse", "clipboard", "tight", "abstract",
    };

    /// <summary>Splits <paramref name="text"/>; later repetitions of a key win, as qemu_opt_get returns the last.</summary>
    public static Dictionary<string, string> Parse(string text, string? impliedKey)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var pos = 0;
        var first = true;
        while (pos < text.Length)
        {
            string key;
            string value;
            var nameLength = text.AsSpan(pos).IndexOfAny('=', ',');
            if (nameLength < 0 || text[pos + nameLength] == ',')
            {
                if (first && impliedKey is not null)
                {
                    // "unix:PATH,...": the first bare word is the implied option's value.
                    key = impliedKey;
                    value = ReadValue(text, ref pos);
                }
                else
                {
                    // A flag: "server" is server=on, and any "noX" is X=off (QemuOpts' short forms).
                    var name = nameLength < 0 ? text[pos..] : text.Substring(pos, nameLength);
                    pos = nameLength < 0 ? text.Length : pos + nameLength + 1;
                    (key, value) = name.StartsWith("no", StringComparison.Ordinal) ? (name[2..], "off") : (name, "on");
                }
            }
            else
            {
                key = text.Substring(pos, nameLength);
                pos += nameLength + 1;
                value = ReadValue(text, ref pos);
            }

            first = false;
            if (!s_qemuKnown.Contains(key))
            {
                throw new QmpEndpointSpecException($"Invalid parameter '{key}'");
            }

            if (s_boolOptions.Contains(key))
            {
                _ = ParseBool(key, value);
            }

            result[key] = value;
        }

        return result;
    }

    /// <summary>qapi_bool_parse: QEMU's on/off words.</summary>
    public static bool ParseBool(string key, string value) => value switch
    {
        "on" or "yes" or "true" or "y" => true,
        "off" or "no" or "false" or "n" => false,
        _ => throw new QmpEndpointSpecException($"Parameter '{key}' expects 'on' or 'off'"),
    };

    private static string ReadValue(string text, ref int pos)
    {
        var sb = new System.Text.StringBuilder();
        while (pos < text.Length)
        {
            if (text[pos] == ',')
            {
                if (pos + 1 < text.Length && text[pos + 1] == ',')
                {
                    sb.Append(',');
                    pos += 2;
                    continue;
                }

                pos++;
                break;
            }

            sb.Append(text[pos++]);
        }

        return sb.ToString();
    }
}
