using System.Buffers.Binary;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// struct vhost_vring_addr: where the three parts of a split ring are, as addresses in the
/// front-end's own address space (the user_addr side of the memory table), and the log address.
/// </summary>
public readonly record struct VringAddress(uint Index, uint Flags, ulong Descriptors, ulong Used, ulong Available, ulong Log)
{
    public const int Size = 40;

    /// <summary>VHOST_VRING_F_LOG: dirty logging of the used ring (migration; netdevd does not log).</summary>
    public const uint FlagLog = 0x1;

    public static bool TryRead(ReadOnlySpan<byte> payload, out VringAddress address)
    {
        if (payload.Length != Size)
        {
            address = default;
            return false;
        }

        address = new VringAddress(
            BinaryPrimitives.ReadUInt32LittleEndian(payload),
            BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[32..]));
        return true;
    }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Descriptors);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], Used);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], Available);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], Log);
    }
}
