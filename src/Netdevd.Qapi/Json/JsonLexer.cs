namespace Netdevd.Qapi.Json;

/// <summary>Receives each token the lexer completes (the span is valid only during the call).</summary>
internal delegate void JsonTokenHandler(JsonTokenType type, ReadOnlySpan<byte> text);

/// <summary>
/// QEMU's JSON lexer (qobject/json-lexer.c) as a byte-at-a-time state machine. It accepts
/// JSON plus single-quoted strings, leaves validating string contents and keywords to the
/// parser, and after a lexical error skips input up to a structural character, an ASCII
/// control character other than TAB, or 0xFE/0xFF (the resynchronisation points QMP clients rely on).
/// </summary>
internal sealed class JsonLexer
{
    private const int InitialCapacity = 64;

    // A buffer grown past this for one big token is let go once that token is done, so one
    // oversized input does not pin its memory for the client's lifetime (QEMU's GString does).
    private const int RetainedCapacity = 64 * 1024;

    private readonly JsonTokenHandler _emit;
    private readonly long _maxTokenSize;
    private byte[] _token = new byte[InitialCapacity];
    private int _length;
    private State _state = State.Start;

    public JsonLexer(JsonTokenHandler emit, long maxTokenSize)
    {
        _emit = emit;
        _maxTokenSize = maxTokenSize;
    }

    /// <summary>Bytes the lexer holds for the token in progress (for tests of its memory bound).</summary>
    internal int BufferCapacity => _token.Length;

    private enum State : byte
    {
        Start,
        Recovery,
        DqString,
        DqStringEscape,
        SqString,
        SqStringEscape,
        Zero,
        Digits,
        Sign,
        Mantissa,
        MantissaDigits,
        ExpE,
        ExpSign,
        ExpDigits,
        Keyword,

        // Results of a transition rather than states one stays in:
        Error,
        TokLCurly,
        TokRCurly,
        TokLSquare,
        TokRSquare,
        TokColon,
        TokComma,
        TokInteger,
        TokFloat,
        TokKeyword,
        TokString,
    }

    public void Feed(ReadOnlySpan<byte> input)
    {
        foreach (var b in input)
        {
            FeedByte(b, flush: false);
        }
    }

    /// <summary>End of input: finishes a pending number or keyword, reports an unterminated string, then signals the end.</summary>
    public void Flush()
    {
        FeedByte(0, flush: true);
        _emit(JsonTokenType.EndOfInput, default);
    }

    private void FeedByte(byte ch, bool flush)
    {
        var consumed = false;
        while (flush ? _state != State.Start : !consumed)
        {
            var next = Transition(_state, ch, out var lookahead);
            consumed = !flush && !lookahead;
            if (consumed)
            {
                Append(ch);
            }

            switch (next)
            {
                case >= State.TokLCurly:
                    _emit(ToTokenType(next), _token.AsSpan(0, _length));
                    ClearToken();
                    _state = State.Start;
                    break;
                case State.Start:
                    ClearToken();
                    _state = State.Start;
                    break;
                case State.Error:
                    _emit(JsonTokenType.Error, _token.AsSpan(0, _length));
                    ClearToken();
                    _state = State.Recovery;
                    break;
                case State.Recovery:
                    ClearToken();
                    _state = State.Recovery;
                    break;
                default:
                    _state = next;
                    break;
            }
        }

        // A single token may not grow without bound (a security limit in QEMU).
        if (_length > _maxTokenSize)
        {
            _emit(JsonTokenType.Oversized, _token.AsSpan(0, _length));
            ClearToken();
            _state = State.Start;
        }
    }

    private void Append(byte b)
    {
        if (_length == _token.Length)
        {
            // Doubling, but never past the one byte over the limit that makes the token oversized
            // (plain doubling would reach 128 MiB for QEMU's 64 MiB limit).
            var limit = Math.Min(_maxTokenSize + 1, Array.MaxLength);
            Array.Resize(ref _token, (int)Math.Max(_length + 1, Math.Min(_token.Length * 2L, limit)));
        }

        _token[_length++] = b;
    }

    private void ClearToken()
    {
        _length = 0;
        if (_token.Length > RetainedCapacity)
        {
            _token = new byte[InitialCapacity];
        }
    }

    private static JsonTokenType ToTokenType(State s) => s switch
    {
        State.TokLCurly => JsonTokenType.LCurly,
        State.TokRCurly => JsonTokenType.RCurly,
        State.TokLSquare => JsonTokenType.LSquare,
        State.TokRSquare => JsonTokenType.RSquare,
        State.TokColon => JsonTokenType.Colon,
        State.TokComma => JsonTokenType.Comma,
        State.TokInteger => JsonTokenType.Integer,
        State.TokFloat => JsonTokenType.Float,
        State.TokKeyword => JsonTokenType.Keyword,
        _ => JsonTokenType.String,
    };

    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';

    /// <summary>
    /// One step of QEMU's transition table. <paramref name="lookahead"/> marks a token that
    /// ended before <paramref name="c"/>, which is then read again from the start state.
    /// </summary>
    private static State Transition(State s, byte c, out bool lookahead)
    {
        lookahead = false;
        switch (s)
        {
            case State.Recovery:
                if ((c < 0x20 && c != (byte)'\t') || c >= 0xFE || c is (byte)'[' or (byte)']' or (byte)'{' or (byte)'}' or (byte)':' or (byte)',')
                {
                    lookahead = true;
                    return State.Start;
                }

                return State.Recovery;

            case State.DqString:
                return c switch
                {
                    (byte)'\\' => State.DqStringEscape,
                    (byte)'"' => State.TokString,
                    >= 0x20 and <= 0xFD => State.DqString,
                    _ => State.Error,
                };

            case State.SqString:
                return c switch
                {
                    (byte)'\\' => State.SqStringEscape,
                    (byte)'\'' => State.TokString,
                    >= 0x20 and <= 0xFD => State.SqString,
                    _ => State.Error,
                };

            case State.DqStringEscape:
                return c is >= 0x20 and <= 0xFD ? State.DqString : State.Error;

            case State.SqStringEscape:
                return c is >= 0x20 and <= 0xFD ? State.SqString : State.Error;

            case State.Zero:
                if (IsDigit(c))
                {
                    return State.Error;
                }

                if (c == (byte)'.')
                {
                    return State.Mantissa;
                }

                lookahead = true;
                return State.TokInteger;

            case State.Digits:
                if (IsDigit(c))
                {
                    return State.Digits;
                }

                if (c is (byte)'e' or (byte)'E')
                {
                    return State.ExpE;
                }

                if (c == (byte)'.')
                {
                    return State.Mantissa;
                }

                lookahead = true;
                return State.TokInteger;

            case State.Sign:
                return c == (byte)'0' ? State.Zero : IsDigit(c) ? State.Digits : State.Error;

            case State.Mantissa:
                return IsDigit(c) ? State.MantissaDigits : State.Error;

            case State.MantissaDigits:
                if (IsDigit(c))
                {
                    return State.MantissaDigits;
                }

                if (c is (byte)'e' or (byte)'E')
                {
                    return State.ExpE;
                }

                lookahead = true;
                return State.TokFloat;

            case State.ExpE:
                return c is (byte)'+' or (byte)'-' ? State.ExpSign : IsDigit(c) ? State.ExpDigits : State.Error;

            case State.ExpSign:
                return IsDigit(c) ? State.ExpDigits : State.Error;

            case State.ExpDigits:
                if (IsDigit(c))
                {
                    return State.ExpDigits;
                }

                lookahead = true;
                return State.TokFloat;

            case State.Keyword:
                if (c is >= (byte)'a' and <= (byte)'z')
                {
                    return State.Keyword;
                }

                lookahead = true;
                return State.TokKeyword;

            default:
                return c switch
                {
                    (byte)'"' => State.DqString,
                    (byte)'\'' => State.SqString,
                    (byte)'0' => State.Zero,
                    >= (byte)'1' and <= (byte)'9' => State.Digits,
                    (byte)'-' => State.Sign,
                    (byte)'{' => State.TokLCurly,
                    (byte)'}' => State.TokRCurly,
                    (byte)'[' => State.TokLSquare,
                    (byte)']' => State.TokRSquare,
                    (byte)',' => State.TokComma,
                    (byte)':' => State.TokColon,
                    >= (byte)'a' and <= (byte)'z' => State.Keyword,
                    (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' => State.Start,
                    _ => State.Error,
                };
        }
    }
}
