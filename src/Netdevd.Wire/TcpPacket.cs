using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over a TCP segment (RFC 9293). The buffer is exactly the segment (the IP layer slices it
/// to the IP payload), so <see cref="Payload"/> runs to the end. <see cref="TryCreate"/> checks a
/// data offset of at least 5 words that fits the buffer; options are parsed by <see cref="TcpOptions"/>.
/// </summary>
public readonly ref struct TcpPacket
{
    public const int MinimumHeaderLength = 20;
    public const int MaximumHeaderLength = 60;

    private readonly Span<byte> _b;

    private TcpPacket(Span<byte> buffer) => _b = buffer;

    public static TcpPacket CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out TcpPacket packet)
    {
        packet = new TcpPacket(buffer);
        if (buffer.Length < MinimumHeaderLength)
        {
            return false;
        }

        var headerLength = (buffer[12] >> 4) * 4;
        return headerLength >= MinimumHeaderLength && headerLength <= buffer.Length;
    }

    public Span<byte> Bytes => _b;

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

    public uint SequenceNumber
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[4..], value);
    }

    public uint AcknowledgmentNumber
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[8..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[8..], value);
    }

    /// <summary>Header length in bytes (data offset * 4); the setter keeps the reserved bits zero.</summary>
    public int HeaderLength
    {
        get => (_b[12] >> 4) * 4;
        set => _b[12] = (byte)(((value / 4) & 0x0F) << 4);
    }

    public TcpFlags Flags
    {
        get => (TcpFlags)_b[13];
        set => _b[13] = (byte)value;
    }

    public bool Fin => (Flags & TcpFlags.Fin) != 0;

    public bool Syn => (Flags & TcpFlags.Syn) != 0;

    public bool Rst => (Flags & TcpFlags.Rst) != 0;

    public bool Psh => (Flags & TcpFlags.Psh) != 0;

    public bool Ack => (Flags & TcpFlags.Ack) != 0;

    public bool Urg => (Flags & TcpFlags.Urg) != 0;

    public ushort WindowSize
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[14..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[14..], value);
    }

    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[16..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[16..], value);
    }

    public ushort UrgentPointer
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[18..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[18..], value);
    }

    public Span<byte> Options => _b[MinimumHeaderLength..HeaderLength];

    public Span<byte> Payload => _b[HeaderLength..];

    /// <summary>Sequence space the segment occupies: payload plus one each for SYN and FIN.</summary>
    public int SegmentLength => Payload.Length + (Syn ? 1 : 0) + (Fin ? 1 : 0);

    public ushort ComputeChecksum(Ipv4Address source, Ipv4Address destination) =>
        ComputeChecksum(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, _b.Length));

    /// <summary>The checksum from a pseudo-header sum of either family, over the header (its checksum field skipped) and payload.</summary>
    public ushort ComputeChecksum(uint pseudoHeaderSum)
    {
        var sum = Wire.Checksum.Add(pseudoHeaderSum, _b[..16]);
        sum = Wire.Checksum.Add(sum, _b[18..]);
        return Wire.Checksum.Finish(sum);
    }

    public void FillChecksum(Ipv4Address source, Ipv4Address destination) => Checksum = ComputeChecksum(source, destination);

    public bool VerifyChecksum(Ipv4Address source, Ipv4Address destination)
    {
        var sum = Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, _b.Length);
        return Wire.Checksum.Fold(Wire.Checksum.Add(sum, _b)) == 0xFFFF;
    }

    /// <summary>The checksum over the IPv6 pseudo-header (RFC 8200 8.1), header and payload.</summary>
    public ushort ComputeChecksum(Ipv6Address source, Ipv6Address destination) =>
        ComputeChecksum(Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, _b.Length));

    public void FillChecksum(Ipv6Address source, Ipv6Address destination) => Checksum = ComputeChecksum(source, destination);

    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination)
    {
        var sum = Wire.Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, _b.Length);
        return Wire.Checksum.Fold(Wire.Checksum.Add(sum, _b)) == 0xFFFF;
    }

    /// <summary>
    /// Writes a header with the given options (padded to a word) and checksum 0; returns the header
    /// length. The payload, if any, goes at that offset; fill the checksum after writing it.
    /// </summary>
    public static int WriteHeader(
        Span<byte> buffer,
        ushort sourcePort,
        ushort destinationPort,
        uint sequenceNumber,
        uint acknowledgmentNumber,
        TcpFlags flags,
        ushort windowSize,
        in TcpOptions options)
    {
        var optionsLength = options.Emit(buffer[MinimumHeaderLength..]);
        var p = new TcpPacket(buffer)
        {
            SourcePort = sourcePort,
            DestinationPort = destinationPort,
            SequenceNumber = sequenceNumber,
            AcknowledgmentNumber = acknowledgmentNumber,
            HeaderLength = MinimumHeaderLength + optionsLength,
            Flags = flags,
            WindowSize = windowSize,
            Checksum = 0,
            UrgentPointer = 0,
        };
        return p.HeaderLength;
    }
}
