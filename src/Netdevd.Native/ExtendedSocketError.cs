namespace Netdevd.Native;

/// <summary>
/// One entry of a socket's error queue, as the kernel's sock_extended_err tells it: the errno, who
/// raised it (<see cref="Origin"/>: the local stack, or an ICMP or ICMPv6 message with its type and
/// code) and, apart from the entry's data, how long the quoted datagram, its destination and the
/// error's sender (the offender) were as read; <see cref="Ttl"/>: the TTL (hop limit) the ICMP
/// message arrived with, where the socket asked for it (IP_RECVTTL, IPV6_RECVHOPLIMIT; 0: not known).
/// </summary>
public readonly record struct ExtendedSocketError(int Errno, byte Origin, byte Type, byte Code, int DataLength, int NameLength, int OffenderLength, byte Ttl = 0)
{
    /// <summary>SO_EE_ORIGIN_LOCAL: the host's own stack (a path MTU, a failed send).</summary>
    public const byte OriginLocal = 1;

    /// <summary>SO_EE_ORIGIN_ICMP: an ICMP message came back.</summary>
    public const byte OriginIcmp = 2;

    /// <summary>SO_EE_ORIGIN_ICMP6: an ICMPv6 message came back.</summary>
    public const byte OriginIcmp6 = 3;
}
