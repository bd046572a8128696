namespace Netdevd.Qapi.Json;

/// <summary>Token kinds the lexer hands to the streamer (QEMU's JSONTokenType).</summary>
internal enum JsonTokenType : byte
{
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Colon,
    Comma,
    Integer,
    Float,
    Keyword,
    String,

    /// <summary>A lexical error; the token text is what was read, including the offending byte.</summary>
    Error,

    /// <summary>A single token grew past the size limit.</summary>
    Oversized,

    EndOfInput,
}
