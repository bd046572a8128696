using System.Globalization;
using System.Text;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Json;

/// <summary>
/// QEMU's JSON parser (qobject/json-parser.c): turns the tokens of one complete message
/// into a QObject. The first error wins and is reported as <c>JSON parse error, ...</c>.
/// </summary>
internal ref struct JsonParser
{
    private readonly List<JsonToken> _tokens;
    private readonly ReadOnlySpan<byte> _text;
    private int _next;

    private JsonParser(List<JsonToken> tokens, ReadOnlySpan<byte> text)
    {
        _tokens = tokens;
        _text = text;
        _next = 0;
    }

    public static QObject Parse(List<JsonToken> tokens, ReadOnlySpan<byte> text)
    {
        var parser = new JsonParser(tokens, text);
        return parser.ParseValue();
    }

    private static QapiException Error(string detail) => new("JSON parse error, " + detail);

    private readonly JsonToken? Peek() => _next < _tokens.Count ? _tokens[_next] : null;

    private JsonToken? Pop() => _next < _tokens.Count ? _tokens[_next++] : null;

    private readonly ReadOnlySpan<byte> TextOf(JsonToken t) => _text.Slice(t.Start, t.Length);

    private QObject ParseValue()
    {
        var token = Peek() ?? throw Error("premature EOI");
        return token.Type switch
        {
            JsonTokenType.LCurly => ParseObject(),
            JsonTokenType.LSquare => ParseArray(),
            JsonTokenType.Integer or JsonTokenType.Float or JsonTokenType.String => ParseLiteral(),
            JsonTokenType.Keyword => ParseKeyword(),
            _ => throw Error("expecting value"),
        };
    }

    private QDict ParseObject()
    {
        Pop();
        var dict = new QDict();
        var peek = Peek() ?? throw Error("premature EOI");
        if (peek.Type == JsonTokenType.RCurly)
        {
            Pop();
            return dict;
        }

        ParsePair(dict);
        var token = Pop() ?? throw Error("premature EOI");
        while (token.Type != JsonTokenType.RCurly)
        {
            if (token.Type != JsonTokenType.Comma)
            {
                throw Error("expected separator in dict");
            }

            ParsePair(dict);
            token = Pop() ?? throw Error("premature EOI");
        }

        return dict;
    }

    private void ParsePair(QDict dict)
    {
        if (Peek() is null)
        {
            throw Error("premature EOI");
        }

        // QEMU parses any value here and only then checks that it is a string.
        if (ParseValue() is not QString key)
        {
            throw Error("key is not a string in object");
        }

        var token = Pop() ?? throw Error("premature EOI");
        if (token.Type != JsonTokenType.Colon)
        {
            throw Error("missing : in object pair");
        }

        var value = ParseValue();
        if (dict.ContainsKey(key.Value))
        {
            throw Error("duplicate key");
        }

        dict.Put(key.Value, value);
    }

    private QList ParseArray()
    {
        Pop();
        var list = new QList();
        var peek = Peek() ?? throw Error("premature EOI");
        if (peek.Type == JsonTokenType.RSquare)
        {
            Pop();
            return list;
        }

        list.Add(ParseValue());
        var token = Pop() ?? throw Error("premature EOI");
        while (token.Type != JsonTokenType.RSquare)
        {
            if (token.Type != JsonTokenType.Comma)
            {
                throw Error("expected separator in list");
            }

            list.Add(ParseValue());
            token = Pop() ?? throw Error("premature EOI");
        }

        return list;
    }

    private QObject ParseKeyword()
    {
        var text = TextOf(Pop()!.Value);
        if (text.SequenceEqual("true"u8))
        {
            return QBool.True;
        }

        if (text.SequenceEqual("false"u8))
        {
            return QBool.False;
        }

        if (text.SequenceEqual("null"u8))
        {
            return QNull.Instance;
        }

        throw Error($"invalid keyword '{ModUtf8.DecodeLossy(text)}'");
    }

    private QObject ParseLiteral()
    {
        var token = Pop()!.Value;
        var text = TextOf(token);
        if (token.Type == JsonTokenType.String)
        {
            return ParseString(text);
        }

        if (token.Type == JsonTokenType.Integer)
        {
            // int64 when it fits, else uint64 when it fits and is not negative, else double.
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
            {
                return new QNum(i);
            }

            if (text[0] != (byte)'-' && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var u))
            {
                return new QNum(u);
            }
        }

        return new QNum(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    private static QString ParseString(ReadOnlySpan<byte> token)
    {
        var quote = token[0];
        var sb = new StringBuilder(token.Length);
        var p = 1;
        while (At(token, p) != quote)
        {
            if (At(token, p) != (byte)'\\')
            {
                var cp = ModUtf8.Decode(token[p..], out var len);
                if (cp < 0)
                {
                    throw Error("invalid UTF-8 sequence in string");
                }

                ModUtf8.AppendCodePoint(sb, cp);
                p += len;
                continue;
            }

            var begin = p;
            p++;
            switch (At(token, p++))
            {
                case (byte)'"': sb.Append('"'); break;
                case (byte)'\'': sb.Append('\''); break;
                case (byte)'\\': sb.Append('\\'); break;
                case (byte)'/': sb.Append('/'); break;
                case (byte)'b': sb.Append('\b'); break;
                case (byte)'f': sb.Append('\f'); break;
                case (byte)'n': sb.Append('\n'); break;
                case (byte)'r': sb.Append('\r'); break;
                case (byte)'t': sb.Append('\t'); break;
                case (byte)'u':
                    var code = Hex4(token, p);
                    p += 4;
                    if (code >= 0xD800 && code <= 0xDBFF && At(token, p) == (byte)'\\' && At(token, p + 1) == (byte)'u')
                    {
                        // A leading surrogate must be followed by an escaped trailing one.
                        var trailing = Hex4(token, p + 2);
                        if (trailing >= 0xDC00 && trailing <= 0xDFFF)
                        {
                            code = 0x10000 + ((code & 0x3FF) << 10) + (trailing & 0x3FF);
                            p += 6;
                        }
                        else
                        {
                            code = -1;
                        }
                    }

                    if (!ModUtf8.IsValidCodePoint(code))
                    {
                        var end = Math.Min(p, token.Length);
                        throw Error($"{ModUtf8.DecodeLossy(token[begin..end])} is not a valid Unicode character");
                    }

                    ModUtf8.AppendCodePoint(sb, code);
                    break;
                default:
                    throw Error("invalid escape sequence in string");
            }
        }

        return new QString(sb.ToString());
    }

    /// <summary>The token's byte at <paramref name="i"/>, or NUL past its end (QEMU reads a C string).</summary>
    private static byte At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : (byte)0;

    private static int Hex4(ReadOnlySpan<byte> s, int p)
    {
        var cp = 0;
        for (var i = 0; i < 4; i++)
        {
            var c = At(s, p + i);
            int d = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                _ => -1,
            };
            if (d < 0)
            {
                return -1;
            }

            cp = (cp << 4) | d;
        }

        return cp;
    }
}
