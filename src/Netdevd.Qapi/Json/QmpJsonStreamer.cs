using Netdevd.Qapi.Errors;

namespace Netdevd.Qapi.Json;

/// <summary>
/// QEMU's JSON message streamer (qobject/json-streamer.c) for QMP input: bytes go in as they
/// arrive, and every complete top-level value (object, array or scalar) or error comes out,
/// in input order, through the callback. A value is complete when its braces and brackets
/// balance; a top-level number or keyword needs the byte after it to end.
/// </summary>
/// <remarks>
/// Errors reset the message: a lexical error discards the tokens collected so far and is
/// reported as <c>JSON parse error, stray '...'</c>; what follows is read afresh, so one bad
/// message can yield several errors, exactly as QEMU answers it.
/// </remarks>
public sealed class QmpJsonStreamer
{
    /// <summary>QEMU's MAX_TOKEN_SIZE: bytes of all tokens of one message (and of one token).</summary>
    public const long DefaultMaxTokenSize = 64L << 20;

    /// <summary>QEMU's MAX_TOKEN_COUNT.</summary>
    public const int DefaultMaxTokenCount = 2 << 20;

    /// <summary>QEMU's MAX_NESTING.</summary>
    public const int DefaultMaxNesting = 1 << 10;

    private const int InitialTextCapacity = 256;
    private const int InitialTokenCapacity = 16;

    // Buffers grown past these for one big message are let go when it is done: a client that
    // once sent a huge message must not keep its memory for the rest of its session.
    private const int RetainedTextCapacity = 64 * 1024;
    private const int RetainedTokenCapacity = 4096;

    private readonly Action<QmpJsonResult> _emit;
    private readonly JsonLexer _lexer;
    private readonly List<JsonToken> _tokens = new(InitialTokenCapacity);
    private readonly long _maxTokenSize;
    private readonly int _maxTokenCount;
    private readonly int _maxNesting;
    private byte[] _text = new byte[InitialTextCapacity];
    private int _textLength;
    private long _tokenSize;
    private int _braces;
    private int _brackets;

    public QmpJsonStreamer(Action<QmpJsonResult> emit)
        : this(emit, DefaultMaxTokenSize, DefaultMaxTokenCount, DefaultMaxNesting)
    {
    }

    /// <summary>With other limits (tests use small ones).</summary>
    internal QmpJsonStreamer(Action<QmpJsonResult> emit, long maxTokenSize, int maxTokenCount, int maxNesting)
    {
        ArgumentNullException.ThrowIfNull(emit);
        _emit = emit;
        _maxTokenSize = maxTokenSize;
        _maxTokenCount = maxTokenCount;
        _maxNesting = maxNesting;
        _lexer = new JsonLexer(OnToken, maxTokenSize);
    }

    /// <summary>Bytes held now by the buffers of the lexer and of the message in progress (small again after a big message).</summary>
    public long RetainedBytes =>
        _lexer.BufferCapacity + _text.Length + ((long)_tokens.Capacity * System.Runtime.CompilerServices.Unsafe.SizeOf<JsonToken>());

    /// <summary>Feeds input; completed values and errors are emitted before this returns.</summary>
    public void Feed(ReadOnlySpan<byte> input) => _lexer.Feed(input);

    /// <summary>End of input: completes a pending scalar and reports an unfinished value (<c>premature EOI</c>).</summary>
    public void Flush() => _lexer.Flush();

    private void OnToken(JsonTokenType type, ReadOnlySpan<byte> text)
    {
        switch (type)
        {
            case JsonTokenType.LCurly:
                _braces++;
                break;
            case JsonTokenType.RCurly:
                _braces--;
                break;
            case JsonTokenType.LSquare:
                _brackets++;
                break;
            case JsonTokenType.RSquare:
                _brackets--;
                break;
            case JsonTokenType.Error:
                EmitError($"JSON parse error, stray '{ModUtf8.DecodeLossy(text)}'");
                return;
            case JsonTokenType.EndOfInput:
                if (_tokens.Count > 0)
                {
                    ParseAndEmit();
                }

                return;
        }

        // Security limits: memory per message and recursion depth a message can force.
        if (_tokenSize + text.Length + 1 > _maxTokenSize)
        {
            EmitError("JSON token size limit exceeded");
            return;
        }

        if (_tokens.Count + 1 > _maxTokenCount)
        {
            EmitError("JSON token count limit exceeded");
            return;
        }

        if (_braces + _brackets > _maxNesting)
        {
            EmitError("JSON nesting depth limit exceeded");
            return;
        }

        AddToken(type, text);
        if ((_braces > 0 || _brackets > 0) && _braces >= 0 && _brackets >= 0)
        {
            return;
        }

        ParseAndEmit();
    }

    private void AddToken(JsonTokenType type, ReadOnlySpan<byte> text)
    {
        if (_textLength + text.Length > _text.Length)
        {
            // The size limit was checked before, so capping the doubling at it still leaves room.
            var doubled = (int)Math.Min(_text.Length * 2L, Math.Min(_maxTokenSize, Array.MaxLength));
            Array.Resize(ref _text, Math.Max(doubled, _textLength + text.Length));
        }

        text.CopyTo(_text.AsSpan(_textLength));
        _tokens.Add(new JsonToken(type, _textLength, text.Length));
        _textLength += text.Length;
        _tokenSize += text.Length;
    }

    private void ParseAndEmit()
    {
        QmpJsonResult result;
        try
        {
            result = new QmpJsonResult(JsonParser.Parse(_tokens, _text.AsSpan(0, _textLength)), null);
        }
        catch (QapiException e)
        {
            result = new QmpJsonResult(null, e);
        }

        Reset();
        _emit(result);
    }

    private void EmitError(string message)
    {
        Reset();
        _emit(new QmpJsonResult(null, new QapiException(message)));
    }

    private void Reset()
    {
        _braces = 0;
        _brackets = 0;
        _tokens.Clear();
        _textLength = 0;
        _tokenSize = 0;
        if (_text.Length > RetainedTextCapacity)
        {
            _text = new byte[InitialTextCapacity];
        }

        if (_tokens.Capacity > RetainedTokenCapacity)
        {
            _tokens.Capacity = InitialTokenCapacity;
        }
    }
}
