using System.Buffers.Binary;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>The payload of the u64 messages (features, protocol features, queue count, status, REPLY_ACK).</summary>
public static class VhostUserU64
{
    public const int Size = 8;

    public static bool TryRead(ReadOnlySpan<byte> payload, out ulong value)
    {
        if (payload.Length != Size)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        return true;
    }

    public static void Write(Span<byte> destination, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
}
