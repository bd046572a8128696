namespace Netdevd.Wire;

/// <summary>
/// View over an ICMPv6 message (RFC 4443): type, code, checksum and a 4-byte rest-of-header
/// (identifier and sequence for echo, MTU for Packet Too Big, pointer for Parameter Problem),
/// then <see cref="Data"/>. Unlike ICMPv4 the checksum covers the IPv6 pseudo-header. NDP
/// messages (types 133..137) have their own views over the same bytes.
/// </summary>
public readonly ref struct Icmpv6Packet
{
    public const int HeaderLength = IcmpHeader.Length;

    public const byte TypeDestinationUnreachable = 1;
    public const byte TypePacketTooBig = 2;
    public const byte TypeTimeExceeded = 3;
    public const byte TypeParameterProblem = 4;
    public const byte TypeEchoRequest = 128;
    public const byte TypeEchoReply = 129;
    public const byte TypeMulticastListenerQuery = 130;
    public const byte TypeMulticastListenerReport = 131;
    public const byte TypeMulticastListenerDone = 132;
    public const byte TypeRouterSolicitation = 133;
    public const byte TypeRouterAdvertisement = 134;
    public const byte TypeNeighborSolicitation = 135;
    public const byte TypeNeighborAdvertisement = 136;
    public const byte TypeRedirect = 137;
    public const byte TypeMulticastListenerReportV2 = 143;

    public const byte CodeNoRoute = 0;
    public const byte CodeAdministrativelyProhibited = 1;
    public const byte CodeAddressUnreachable = 3;
    public const byte CodePortUnreachable = 4;

    public const byte CodeHopLimitExceeded = 0;
    public const byte CodeReassemblyTimeExceeded = 1;

    public const byte CodeErroneousHeaderField = 0;
    public const byte CodeUnrecognizedNextHeader = 1;
    public const byte CodeUnrecognizedOption = 2;

    /// <summary>Errors carry as much of the offending datagram as fits in the minimum MTU (RFC 4443 2.4 (c)).</summary>
    public const int MaximumErrorLength = Ipv6Packet.MinimumMtu - Ipv6Packet.HeaderLength;

    private readonly Span<byte> _b;

    private Icmpv6Packet(Span<byte> buffer) => _b = buffer;

    public static Icmpv6Packet CreateUnchecked(Span<byte> buffer) => new(buffer);

    /// <summary>Every ICMPv6 message has at least the 4-byte header; messages shorter than 8 bytes have no rest-of-header.</summary>
    public static bool TryCreate(Span<byte> buffer, out Icmpv6Packet packet)
    {
        packet = new Icmpv6Packet(buffer);
        return buffer.Length >= HeaderLength;
    }

    public Span<byte> Bytes => _b;

    /// <summary>The type, code, checksum and rest-of-header fields ICMPv4 and ICMPv6 share.</summary>
    public IcmpHeader Header => IcmpHeader.CreateUnchecked(_b);

    /// <summary>Types 0..127 are errors (RFC 4443 2.1): never answered with another error.</summary>
    public bool IsError => Header.Type < 128;

    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination) =>
        Wire.Checksum.Fold(Wire.Checksum.Add(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Icmpv6, _b.Length), _b)) == 0xFFFF;

    public void FillChecksum(Ipv6Address source, Ipv6Address destination)
    {
        var header = Header;
        header.Checksum = 0;
        header.Checksum = Wire.Checksum.Finish(Wire.Checksum.Add(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Icmpv6, _b.Length), _b));
    }
}
