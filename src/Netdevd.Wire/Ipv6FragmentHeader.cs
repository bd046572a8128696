using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>View over the 8-byte IPv6 fragment header (RFC 8200 4.5).</summary>
public readonly ref struct Ipv6FragmentHeader
{
    public const int Length = 8;

    private readonly Span<byte> _b;

    private Ipv6FragmentHeader(Span<byte> buffer) => _b = buffer;

    public static Ipv6FragmentHeader CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out Ipv6FragmentHeader header)
    {
        header = new Ipv6FragmentHeader(buffer);
        return buffer.Length >= Length;
    }

    public byte NextHeader
    {
        get => _b[0];
        set => _b[0] = value;
    }

    /// <summary>Offset of this fragment's data in bytes (the field counts 8-byte units).</summary>
    public int FragmentOffset
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]) & 0xFFF8;
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], (ushort)((value & 0xFFF8) | (MoreFragments ? 1 : 0)));
    }

    public bool MoreFragments
    {
        get => (_b[3] & 1) != 0;
        set => _b[3] = (byte)((_b[3] & ~1) | (value ? 1 : 0));
    }

    public uint Identification
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[4..], value);
    }

    /// <summary>Writes a fragment header; returns its length.</summary>
    public static int Write(Span<byte> buffer, byte nextHeader, int fragmentOffset, bool moreFragments, uint identification)
    {
        buffer[0] = nextHeader;
        buffer[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)((fragmentOffset & 0xFFF8) | (moreFragments ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], identification);
        return Length;
    }
}
