namespace Netdevd.Backends.L2tpv3;

/// <summary>What the receive check made of one datagram.</summary>
internal enum L2tpv3Verdict
{
    /// <summary>Session (and cookie) match: the frame follows the header.</summary>
    Accepted,

    /// <summary>No payload after the header (or no sane IP header in raw IPv4 mode).</summary>
    Short,

    /// <summary>Cookies are on and the received cookie is not rxcookie (QEMU: "unknown cookie id").</summary>
    CookieMismatch,

    /// <summary>The session id is not rxsession (QEMU: "session mismatch").</summary>
    SessionMismatch,
}
