using Netdevd.Backends.Dgram;

namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// What an l2tpv3 netdev counts: the datagram counters every datagram netdev keeps, plus the
/// header checks' verdicts (written by the poll thread).
/// </summary>
public sealed class L2tpv3Counters : DatagramCounters
{
    /// <summary>Datagrams whose session id was not rxsession (dropped).</summary>
    public long SessionMismatches { get; internal set; }

    /// <summary>Datagrams whose cookie was not rxcookie (dropped).</summary>
    public long CookieMismatches { get; internal set; }

    /// <summary>Datagrams with no frame after the header, or no sane IPv4 header in raw IPv4 mode (dropped).</summary>
    public long DroppedShort { get; internal set; }
}
