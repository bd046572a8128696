using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over an IPv6 datagram (RFC 8200). <see cref="TryCreate"/> checks version 6, a 40-byte
/// header within the buffer and a payload length within the buffer (a longer buffer is Ethernet
/// padding: <see cref="Payload"/> ends at the payload length). Jumbograms (payload length 0 with a
/// hop-by-hop jumbo option) do not exist on an Ethernet link and are not recognised.
/// Extension headers are walked by <see cref="WalkHeaders"/>.
/// </summary>
public readonly ref struct Ipv6Packet
{
    public const int HeaderLength = 40;

    /// <summary>The smallest link MTU every IPv6 link must carry (RFC 8200 5).</summary>
    public const int MinimumMtu = 1280;

    private readonly Span<byte> _b;

    private Ipv6Packet(Span<byte> buffer) => _b = buffer;

    public static Ipv6Packet CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out Ipv6Packet packet)
    {
        packet = new Ipv6Packet(buffer);
        return buffer.Length >= HeaderLength && (buffer[0] >> 4) == 6 &&
               HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]) <= buffer.Length;
    }

    public byte Version => (byte)(_b[0] >> 4);

    public byte TrafficClass
    {
        get => (byte)((BinaryPrimitives.ReadUInt16BigEndian(_b) >> 4) & 0xFF);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b, (ushort)((BinaryPrimitives.ReadUInt16BigEndian(_b) & 0xF00F) | (value << 4)));
    }

    /// <summary>The 20-bit flow label.</summary>
    public uint FlowLabel
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b) & 0xF_FFFF;
        set => BinaryPrimitives.WriteUInt32BigEndian(_b, (BinaryPrimitives.ReadUInt32BigEndian(_b) & 0xFFF0_0000) | (value & 0xF_FFFF));
    }

    /// <summary>Bytes after the fixed header, extension headers included.</summary>
    public ushort PayloadLength
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value);
    }

    /// <summary>The first next-header value (an extension header or the upper-layer protocol).</summary>
    public byte NextHeader
    {
        get => _b[6];
        set => _b[6] = value;
    }

    public byte HopLimit
    {
        get => _b[7];
        set => _b[7] = value;
    }

    public Ipv6Address Source
    {
        get => Ipv6Address.Read(_b[8..]);
        set => value.WriteTo(_b[8..]);
    }

    public Ipv6Address Destination
    {
        get => Ipv6Address.Read(_b[24..]);
        set => value.WriteTo(_b[24..]);
    }

    /// <summary>The datagram without link padding (0..40+PayloadLength).</summary>
    public Span<byte> Bytes => _b[..(HeaderLength + PayloadLength)];

    public Span<byte> Payload => _b[HeaderLength..(HeaderLength + PayloadLength)];

    /// <summary>Follows the extension-header chain to the upper layer (see <see cref="Ipv6HeaderChain"/>).</summary>
    public Ipv6HeaderChain WalkHeaders() => Ipv6HeaderChain.Walk(Bytes);

    /// <summary>The pseudo-header sum for an upper-layer checksum (RFC 8200 8.1).</summary>
    public uint PseudoHeaderSum(byte upperProtocol, int upperLength) =>
        Checksum.PseudoHeader(Source, Destination, upperProtocol, upperLength);

    /// <summary>
    /// Writes the 40-byte header; returns its length. <paramref name="payloadLength"/> counts
    /// everything after the header.
    /// </summary>
    public static int WriteHeader(Span<byte> buffer, Ipv6Address source, Ipv6Address destination, byte nextHeader, int payloadLength, byte hopLimit = 64)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, 0x6000_0000);
        var p = new Ipv6Packet(buffer)
        {
            PayloadLength = (ushort)payloadLength,
            NextHeader = nextHeader,
            HopLimit = hopLimit,
            Source = source,
            Destination = destination,
        };
        _ = p;
        return HeaderLength;
    }
}
