using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over an ICMPv4 message (RFC 792): type, code, checksum and the 4-byte rest-of-header
/// (identifier and sequence number for echo), then <see cref="Data"/> (echo payload, or the
/// offending IP header plus 8 bytes for errors).
/// </summary>
public readonly ref struct IcmpPacket
{
    public const int HeaderLength = 8;

    public const byte TypeEchoReply = 0;
    public const byte TypeDestinationUnreachable = 3;
    public const byte TypeEchoRequest = 8;
    public const byte TypeTimeExceeded = 11;
    public const byte TypeParameterProblem = 12;

    public const byte CodeNetUnreachable = 0;
    public const byte CodeHostUnreachable = 1;
    public const byte CodeProtocolUnreachable = 2;
    public const byte CodePortUnreachable = 3;
    public const byte CodeFragmentationNeeded = 4;

    private readonly Span<byte> _b;

    private IcmpPacket(Span<byte> buffer) => _b = buffer;

    public static IcmpPacket CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out IcmpPacket packet)
    {
        packet = new IcmpPacket(buffer);
        return buffer.Length >= HeaderLength;
    }

    public Span<byte> Bytes => _b;

    public byte Type
    {
        get => _b[0];
        set => _b[0] = value;
    }

    public byte Code
    {
        get => _b[1];
        set => _b[1] = value;
    }

    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value);
    }

    /// <summary>Echo identifier (bytes 4..5).</summary>
    public ushort Identifier
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value);
    }

    /// <summary>Echo sequence number (bytes 6..7).</summary>
    public ushort SequenceNumber
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value);
    }

    /// <summary>Bytes 4..7 as one word (unused for unreachable; next-hop MTU in the low half for code 4).</summary>
    public uint RestOfHeader
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[4..], value);
    }

    public Span<byte> Data => _b[HeaderLength..];

    public bool IsEcho => Type is TypeEchoRequest or TypeEchoReply;

    /// <summary>ICMPv4 has no pseudo-header: the checksum covers the whole message.</summary>
    public bool VerifyChecksum() => Wire.Checksum.IsValid(_b);

    public void FillChecksum()
    {
        Checksum = 0;
        Checksum = Wire.Checksum.Compute(_b);
    }
}
