namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// Sizes, offsets and flags of a packed virtqueue (virtio 1.2, 2.8): one descriptor ring of
/// 16-byte entries {u64 addr, u32 len, u16 id, u16 flags} that driver and device both write, and
/// two 4-byte event suppression structures {u16 off_wrap, u16 flags}: the driver's (in the
/// "available" address of SET_VRING_ADDR) and the device's (in the "used" address).
/// </summary>
public static class PackedRingLayout
{
    /// <summary>The largest packed ring (virtio: 2^15; the slot must fit 15 bits of off_wrap and the base).</summary>
    public const int MaxSize = 32768;

    public const int DescriptorSize = 16;
    public const int DescriptorAlignment = 16;
    public const int EventAlignment = 4;
    public const int EventBytes = 4;

    public const int LengthOffset = 8;
    public const int IdOffset = 12;
    public const int FlagsOffset = 14;

    /// <summary>Descriptor flags shared with split rings.</summary>
    public const ushort DescriptorNext = 1;
    public const ushort DescriptorWrite = 2;
    public const ushort DescriptorIndirect = 4;

    /// <summary>VIRTQ_DESC_F_AVAIL (bit 7) and VIRTQ_DESC_F_USED (bit 15).</summary>
    public const ushort DescriptorAvailable = 1 << 7;
    public const ushort DescriptorUsed = 1 << 15;

    /// <summary>Event suppression flags: notify always, never, or at off_wrap (EVENT_IDX only).</summary>
    public const ushort EventEnable = 0;
    public const ushort EventDisable = 1;
    public const ushort EventDescriptor = 2;

    /// <summary>The wrap counter's bit in off_wrap and in a vring base.</summary>
    public const ushort WrapBit = 1 << 15;

    /// <summary>Packed rings need not be a power of two.</summary>
    public static bool IsValidSize(uint size) => size is > 0 and <= MaxSize;

    public static ulong DescriptorRingBytes(uint size) => (ulong)size * DescriptorSize;

    /// <summary>The AVAIL and USED bits a descriptor carries once the device used it in lap <paramref name="wrap"/>.</summary>
    public static ushort UsedFlags(bool wrap) => wrap ? (ushort)(DescriptorAvailable | DescriptorUsed) : (ushort)0;

    /// <summary>The AVAIL and USED bits the driver sets on a descriptor it makes available in lap <paramref name="wrap"/>.</summary>
    public static ushort AvailableFlags(bool wrap) => wrap ? DescriptorAvailable : DescriptorUsed;
}
