using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// struct virtio_net_hdr (include/uapi/linux/virtio_net.h): the 10 bytes in front of a frame that
/// say how its checksum and segmentation were left to the device, little-endian as virtio 1.0
/// and the tap driver speak it; <see cref="Read"/> and <see cref="Write"/> convert between the
/// bytes and this value. The 12-byte form netdevd passes between clients adds num_buffers,
/// which nothing here reads. Below Backends so that every virtio-net speaker (tap, vhost-user)
/// shares one definition.
/// </summary>
public readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HdrLen, ushort GsoSize, ushort CsumStart, ushort CsumOffset)
{
    /// <summary>The bytes that matter (struct virtio_net_hdr); the rest of a longer header is ignored.</summary>
    public const int BaseSize = 10;

    /// <summary>Checksum from <see cref="CsumStart"/> to the end, stored at CsumStart + CsumOffset, is still to be done.</summary>
    public const byte FlagNeedsCsum = 1;

    /// <summary>The checksum was already verified (receive side only).</summary>
    public const byte FlagDataValid = 2;

    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3;
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;

    /// <summary>Set with a TCP type when the segments should keep ECN's CWR on the first only.</summary>
    public const byte GsoEcn = 0x80;

    public bool NeedsChecksum => (Flags & FlagNeedsCsum) != 0;

    /// <summary>The segmentation type without the ECN bit.</summary>
    public byte GsoKind => (byte)(GsoType & ~GsoEcn);

    public bool IsGso => GsoKind != GsoNone;

    public static VirtioNetHeader Read(ReadOnlySpan<byte> header) => new(
        header[0],
        header[1],
        BinaryPrimitives.ReadUInt16LittleEndian(header[2..]),
        BinaryPrimitives.ReadUInt16LittleEndian(header[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(header[6..]),
        BinaryPrimitives.ReadUInt16LittleEndian(header[8..]));

    public void Write(Span<byte> header)
    {
        header[0] = Flags;
        header[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], HdrLen);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], CsumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], CsumOffset);
    }
}
