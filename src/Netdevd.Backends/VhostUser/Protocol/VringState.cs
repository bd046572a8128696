using System.Buffers.Binary;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// struct vhost_vring_state: a queue index and a number (ring size for SET_VRING_NUM, next avail
/// index for SET/GET_VRING_BASE, 0/1 for SET_VRING_ENABLE).
/// </summary>
public readonly record struct VringState(uint Index, uint Num)
{
    public const int Size = 8;

    public static bool TryRead(ReadOnlySpan<byte> payload, out VringState state)
    {
        if (payload.Length != Size)
        {
            state = default;
            return false;
        }

        state = new VringState(BinaryPrimitives.ReadUInt32LittleEndian(payload), BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]));
        return true;
    }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Num);
    }
}
