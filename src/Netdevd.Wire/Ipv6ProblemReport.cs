namespace Netdevd.Wire;

/// <summary>Whether a datagram dropped for an extension-header problem gets an ICMPv6 Parameter Problem (RFC 8200 4.2, 4.4).</summary>
public enum Ipv6ProblemReport
{
    /// <summary>Dropped silently.</summary>
    None,

    /// <summary>Reported to the source.</summary>
    Always,

    /// <summary>Reported only when the destination was not a multicast address.</summary>
    UnlessMulticast,
}
