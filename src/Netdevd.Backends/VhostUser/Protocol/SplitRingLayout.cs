namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// Sizes and offsets of a split virtqueue (virtio 1.2, 2.7): the descriptor table (16 bytes per
/// entry), the driver's available ring (flags, idx, ring[n], used_event) and the device's used
/// ring (flags, idx, {id, len}[n], avail_event). Shared by both roles.
/// </summary>
public static class SplitRingLayout
{
    /// <summary>The largest ring virtio allows (a power of two).</summary>
    public const int MaxSize = 32768;

    public const int DescriptorSize = 16;
    public const int DescriptorAlignment = 16;
    public const int AvailableAlignment = 2;
    public const int UsedAlignment = 4;

    public const ushort DescriptorNext = 1;
    public const ushort DescriptorWrite = 2;
    public const ushort DescriptorIndirect = 4;

    /// <summary>avail.flags: the driver needs no interrupt (without EVENT_IDX).</summary>
    public const ushort AvailableNoInterrupt = 1;

    /// <summary>used.flags: the device needs no kick (without EVENT_IDX).</summary>
    public const ushort UsedNoNotify = 1;

    public static bool IsValidSize(uint size) => size is > 0 and <= MaxSize && (size & (size - 1)) == 0;

    public static ulong DescriptorTableBytes(uint size) => (ulong)size * DescriptorSize;

    /// <summary>flags + idx + ring[size] + used_event.</summary>
    public static ulong AvailableBytes(uint size) => 6 + (2 * (ulong)size);

    /// <summary>flags + idx + ring[size] of {u32 id, u32 len} + avail_event.</summary>
    public static ulong UsedBytes(uint size) => 6 + (8 * (ulong)size);

    /// <summary>
    /// virtio's vring_need_event: whether moving the index from <paramref name="old"/> to
    /// <paramref name="updated"/> crossed <paramref name="eventIndex"/> (mod 2^16).
    /// </summary>
    public static bool NeedEvent(ushort eventIndex, ushort updated, ushort old) =>
        (ushort)(updated - eventIndex - 1) < (ushort)(updated - old);
}
