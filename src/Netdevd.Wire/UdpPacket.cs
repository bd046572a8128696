using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over a UDP datagram (RFC 768). <see cref="TryCreate"/> checks that the length field is at
/// least 8 and within the buffer; <see cref="Payload"/> ends at the length field (bytes beyond it
/// are ignored, as a receiving stack does).
/// </summary>
public readonly ref struct UdpPacket
{
    public const int HeaderLength = 8;

    private readonly Span<byte> _b;

    private UdpPacket(Span<byte> buffer) => _b = buffer;

    public static UdpPacket CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out UdpPacket packet)
    {
        packet = new UdpPacket(buffer);
        if (buffer.Length < HeaderLength)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        return length >= HeaderLength && length <= buffer.Length;
    }

    public ushort SourcePort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b, value);
    }

    public ushort DestinationPort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value);
    }

    public ushort Length
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value);
    }

    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value);
    }

    public Span<byte> Bytes => _b[..Length];

    public Span<byte> Payload => _b[HeaderLength..Length];

    /// <summary>The checksum as it should be (over pseudo-header, header with zero checksum, payload).</summary>
    public ushort ComputeChecksum(Ipv4Address source, Ipv4Address destination) =>
        ComputeChecksum(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Udp, Length));

    /// <summary>The checksum from a pseudo-header sum of either family.</summary>
    private ushort ComputeChecksum(uint pseudoHeaderSum)
    {
        var sum = Wire.Checksum.Add(pseudoHeaderSum, _b[..6]);
        sum = Wire.Checksum.Add(sum, _b[HeaderLength..Length]);
        var c = Wire.Checksum.Finish(sum);

        // RFC 768: a computed zero is sent as all ones, since zero means "no checksum".
        return c == 0 ? (ushort)0xFFFF : c;
    }

    public void FillChecksum(Ipv4Address source, Ipv4Address destination) => Checksum = ComputeChecksum(source, destination);

    /// <summary>True when the checksum is right or absent (zero, allowed over IPv4).</summary>
    public bool VerifyChecksum(Ipv4Address source, Ipv4Address destination)
    {
        if (Checksum == 0)
        {
            return true;
        }

        var sum = Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Udp, Length);
        return Wire.Checksum.Fold(Wire.Checksum.Add(sum, Bytes)) == 0xFFFF;
    }

    /// <summary>The checksum over the IPv6 pseudo-header; a computed zero is sent as all ones.</summary>
    public ushort ComputeChecksum(Ipv6Address source, Ipv6Address destination) =>
        ComputeChecksum(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Udp, Length));

    public void FillChecksum(Ipv6Address source, Ipv6Address destination) => Checksum = ComputeChecksum(source, destination);

    /// <summary>Over IPv6 the checksum is mandatory (RFC 8200 8.1): zero is invalid.</summary>
    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination)
    {
        if (Checksum == 0)
        {
            return false;
        }

        var sum = Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Udp, Length);
        return Wire.Checksum.Fold(Wire.Checksum.Add(sum, Bytes)) == 0xFFFF;
    }

    /// <summary>Writes the 8-byte header for <paramref name="payloadLength"/> bytes of payload, checksum 0.</summary>
    public static int WriteHeader(Span<byte> buffer, ushort sourcePort, ushort destinationPort, int payloadLength)
    {
        var p = new UdpPacket(buffer)
        {
            SourcePort = sourcePort,
            DestinationPort = destinationPort,
            Length = (ushort)(HeaderLength + payloadLength),
            Checksum = 0,
        };
        _ = p;
        return HeaderLength;
    }
}
