using System.Buffers.Binary;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// One region of a memory table as the front-end describes it: guest physical address, size, the
/// front-end's own (user) address of it, and where it starts in the descriptor sent with it.
/// </summary>
public readonly record struct MemoryRegionDescription(ulong GuestAddress, ulong Size, ulong UserAddress, ulong MmapOffset)
{
    public const int WireSize = 32;

    public static MemoryRegionDescription Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, GuestAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Size);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], UserAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], MmapOffset);
    }

    /// <summary>
    /// Whether the region is usable at all: not empty, and neither its guest range, its user range
    /// nor its extent in the descriptor wraps around 2^64.
    /// </summary>
    public bool IsWellFormed =>
        Size != 0
        && GuestAddress + Size > GuestAddress
        && UserAddress + Size > UserAddress
        && MmapOffset + Size > MmapOffset;
}
