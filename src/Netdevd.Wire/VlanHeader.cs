using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over an IEEE 802.1Q tag as it follows an Ethernet header whose EtherType is
/// <see cref="Wire.EtherType.Vlan"/>: the tag control information (priority, drop eligible,
/// VLAN id) and the EtherType of what is carried; <see cref="Payload"/> is the network layer.
/// <see cref="TryCreate"/> only checks that the 4 bytes are there.
/// </summary>
public readonly ref struct VlanHeader
{
    public const int HeaderLength = 4;

    private readonly Span<byte> _b;

    private VlanHeader(Span<byte> buffer) => _b = buffer;

    public static VlanHeader CreateUnchecked(Span<byte> buffer) => new(buffer);

    /// <summary><paramref name="buffer"/> is the Ethernet payload behind the 0x8100 EtherType.</summary>
    public static bool TryCreate(Span<byte> buffer, out VlanHeader header)
    {
        header = new VlanHeader(buffer);
        return buffer.Length >= HeaderLength;
    }

    /// <summary>The 16-bit tag control information: PCP (3 bits), DEI (1), VID (12).</summary>
    public ushort TagControl
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b, value);
    }

    /// <summary>Priority code point (IEEE 802.1p), 0..7.</summary>
    public byte Priority => (byte)(TagControl >> 13);

    public bool DropEligible => (TagControl & 0x1000) != 0;

    /// <summary>VLAN identifier, 0..4095 (0: priority tag only).</summary>
    public ushort VlanId => (ushort)(TagControl & 0x0FFF);

    /// <summary>The EtherType of the payload (the "inner" type).</summary>
    public ushort EtherType
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value);
    }

    public Span<byte> Payload => _b[HeaderLength..];
}
