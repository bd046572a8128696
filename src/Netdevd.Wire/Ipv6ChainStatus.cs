namespace Netdevd.Wire;

/// <summary>How an IPv6 extension-header walk ended.</summary>
public enum Ipv6ChainStatus
{
    /// <summary>An upper-layer protocol was reached (or No Next Header, protocol 59).</summary>
    Complete,

    /// <summary>A header or option runs past the datagram.</summary>
    Truncated,

    /// <summary>A next-header value that is neither a known extension header nor a protocol we handle.</summary>
    UnknownNextHeader,

    /// <summary>A hop-by-hop options header after the first position (RFC 8200 4.3).</summary>
    MisplacedHopByHop,

    /// <summary>An option whose type's top bits say "discard" (01) or "discard and report" (10, 11).</summary>
    UnknownOption,

    /// <summary>A routing header with segments left and a type we do not process (RFC 8200 4.4).</summary>
    UnsupportedRouting,

    /// <summary>More extension headers than any real sender uses: treated as an attack.</summary>
    TooManyHeaders,
}
