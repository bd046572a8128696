using System.Buffers.Binary;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The payload of SET_MEM_TABLE: u32 region count, u32 padding, then that many regions, each with
/// one descriptor in the message's SCM_RIGHTS (in order).
/// </summary>
public readonly ref struct MemoryTablePayload
{
    /// <summary>VHOST_MEMORY_BASELINE_NREGIONS: what SET_MEM_TABLE carries at most.</summary>
    public const int MaxRegions = 8;

    public const int HeaderSize = 8;

    private readonly ReadOnlySpan<byte> _payload;

    private MemoryTablePayload(ReadOnlySpan<byte> payload, int count)
    {
        _payload = payload;
        Count = count;
    }

    public int Count { get; }

    public MemoryRegionDescription this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return MemoryRegionDescription.Read(_payload.Slice(HeaderSize + (index * MemoryRegionDescription.WireSize), MemoryRegionDescription.WireSize));
        }
    }

    /// <summary>False for a count of 0 or above <see cref="MaxRegions"/> or a payload that does not hold the regions it counts.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out MemoryTablePayload table)
    {
        table = default;
        if (payload.Length < HeaderSize)
        {
            return false;
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        if (count is 0 or > MaxRegions || payload.Length < HeaderSize + ((int)count * MemoryRegionDescription.WireSize))
        {
            return false;
        }

        table = new MemoryTablePayload(payload, (int)count);
        return true;
    }

    /// <summary>Writes a table of <paramref name="regions"/>; returns the payload length.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<MemoryRegionDescription> regions)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(regions.Length, MaxRegions);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)regions.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], 0);
        for (var i = 0; i < regions.Length; i++)
        {
            regions[i].Write(destination[(HeaderSize + (i * MemoryRegionDescription.WireSize))..]);
        }

        return HeaderSize + (regions.Length * MemoryRegionDescription.WireSize);
    }
}
