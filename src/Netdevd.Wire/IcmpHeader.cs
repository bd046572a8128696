using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Netdevd.Wire;

/// <summary>
/// The 8-byte header ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) share: type, code, checksum and a
/// 4-byte rest-of-header (identifier and sequence number for echo), then <see cref="Data"/>. What
/// differs between the two protocols (type numbers, the checksum's coverage) is in
/// <see cref="IcmpPacket"/> and <see cref="Icmpv6Packet"/>.
/// </summary>
public readonly ref struct IcmpHeader
{
    public const int Length = 8;

    private readonly Span<byte> _b;

    private IcmpHeader(Span<byte> buffer) => _b = buffer;

    public static IcmpHeader CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out IcmpHeader header)
    {
        header = new IcmpHeader(buffer);
        return buffer.Length >= Length;
    }

    /// <summary>The whole message, header and data.</summary>
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
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value);
    }

    /// <summary>Echo sequence number (bytes 6..7).</summary>
    public ushort SequenceNumber
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value);
    }

    /// <summary>Bytes 4..7 as one word (next-hop MTU, Packet Too Big's MTU, Parameter Problem's pointer).</summary>
    public uint RestOfHeader
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[4..], value);
    }

    public Span<byte> Data => _b[Length..];
}
