using System.Globalization;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Json;

/// <summary>QEMU's JSONWriter state machine: comma and newline placement for compact and pretty output.</summary>
internal struct JsonWriter<TSink>(TSink sink, bool pretty)
    where TSink : struct, IJsonSink
{
    private const string HexDigits = "0123456789ABCDEF";

    private TSink _sink = sink;
    private bool _needComma;
    private bool _written;
    private int _depth;

    /// <summary>Writes <paramref name="value"/>, as the member <paramref name="name"/> when inside an object.</summary>
    public void Write(string? name, QObject value)
    {
        switch (value)
        {
            case QDict dict:
                BeginValue(name);
                _sink.Append('{');
                Enter();
                foreach (var member in dict)
                {
                    Write(member.Key, member.Value);
                }

                Leave('}');
                break;
            case QList list:
                BeginValue(name);
                _sink.Append('[');
                Enter();
                for (var i = 0; i < list.Count; i++)
                {
                    Write(null, list[i]);
                }

                Leave(']');
                break;
            case QString s:
                BeginValue(name);
                WriteString(s.Value);
                break;
            case QNum n:
                BeginValue(name);
                WriteNumber(n);
                break;
            case QBool b:
                BeginValue(name);
                _sink.Append(b.Value ? "true" : "false");
                break;
            default:
                BeginValue(name);
                _sink.Append("null");
                break;
        }
    }

    private void Enter()
    {
        _depth++;
        _needComma = false;
    }

    private void Leave(char close)
    {
        _depth--;
        _needComma = true;
        NewLine();
        _sink.Append(close);
    }

    private void BeginValue(string? name)
    {
        if (_needComma)
        {
            _sink.Append(',');
            if (pretty)
            {
                NewLine();
            }
            else
            {
                _sink.Append(' ');
            }
        }
        else
        {
            if (_written)
            {
                NewLine();
            }

            _needComma = true;
        }

        _written = true;
        if (name is not null)
        {
            WriteString(name);
            _sink.Append(": ");
        }
    }

    private void NewLine()
    {
        if (!pretty)
        {
            return;
        }

        _sink.Append('\n');
        for (var i = 0; i < _depth; i++)
        {
            _sink.Append("    ");
        }
    }

    private void WriteNumber(QNum n)
    {
        Span<char> buffer = stackalloc char[32];
        int written;
        switch (n.Kind)
        {
            case QNumKind.Int64:
                n.Int64Value.TryFormat(buffer, out written, default, CultureInfo.InvariantCulture);
                _sink.Append(buffer[..written]);
                break;
            case QNumKind.UInt64:
                n.UInt64Value.TryFormat(buffer, out written, default, CultureInfo.InvariantCulture);
                _sink.Append(buffer[..written]);
                break;
            default:
                _sink.Append(CDoubleFormat.G17(n.DoubleValue));
                break;
        }
    }

    private void WriteString(string s)
    {
        _sink.Append('"');
        var runStart = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            {
                continue;
            }

            // Flush the plain ASCII run before the character that needs escaping.
            if (i > runStart)
            {
                _sink.Append(s.AsSpan(runStart, i - runStart));
            }

            switch (c)
            {
                case '"':
                    _sink.Append("\\\"");
                    break;
                case '\\':
                    _sink.Append("\\\\");
                    break;
                case '\b':
                    _sink.Append("\\b");
                    break;
                case '\f':
                    _sink.Append("\\f");
                    break;
                case '\n':
                    _sink.Append("\\n");
                    break;
                case '\r':
                    _sink.Append("\\r");
                    break;
                case '\t':
                    _sink.Append("\\t");
                    break;
                default:
                    int cp = c;
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                    {
                        cp = char.ConvertToUtf32(c, s[i + 1]);
                        i++;
                    }
                    else if (char.IsSurrogate(c))
                    {
                        cp = 0xFFFD;
                    }

                    if (ModUtf8.IsNonCharacter(cp))
                    {
                        // QEMU cannot represent these in its strings and substitutes U+FFFD.
                        cp = 0xFFFD;
                    }

                    if (cp > 0xFFFF)
                    {
                        cp -= 0x10000;
                        WriteEscape(0xD800 + (cp >> 10));
                        WriteEscape(0xDC00 + (cp & 0x3FF));
                    }
                    else
                    {
                        WriteEscape(cp);
                    }

                    break;
            }

            runStart = i + 1;
        }

        if (s.Length > runStart)
        {
            _sink.Append(s.AsSpan(runStart));
        }

        _sink.Append('"');
    }

    private void WriteEscape(int code)
    {
        Span<char> e = ['\\', 'u', HexDigits[(code >> 12) & 0xF], HexDigits[(code >> 8) & 0xF], HexDigits[(code >> 4) & 0xF], HexDigits[code & 0xF]];
        _sink.Append(e);
    }
}
