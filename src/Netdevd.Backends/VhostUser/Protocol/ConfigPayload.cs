using System.Buffers.Binary;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>GET/SET_CONFIG: u32 offset, u32 size, u32 flags, then size bytes of the device's config space.</summary>
public readonly ref struct ConfigPayload
{
    public const int HeaderSize = 12;

    /// <summary>VHOST_USER_MAX_CONFIG_SIZE.</summary>
    public const int MaxConfigSize = 256;

    private ConfigPayload(uint offset, uint size, uint flags, ReadOnlySpan<byte> data)
    {
        Offset = offset;
        Size = size;
        Flags = flags;
        Data = data;
    }

    public uint Offset { get; }

    public uint Size { get; }

    public uint Flags { get; }

    public ReadOnlySpan<byte> Data { get; }

    /// <summary>False when the size exceeds 256, offset+size runs past 256, or the bytes are missing.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out ConfigPayload config)
    {
        config = default;
        if (payload.Length < HeaderSize)
        {
            return false;
        }

        var offset = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        if (size > MaxConfigSize || offset > MaxConfigSize - size || payload.Length != HeaderSize + (int)size)
        {
            return false;
        }

        config = new ConfigPayload(offset, size, flags, payload.Slice(HeaderSize, (int)size));
        return true;
    }
}
