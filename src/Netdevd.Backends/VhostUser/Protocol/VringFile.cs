namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The u64 of SET_VRING_KICK/CALL/ERR: the queue index in bits 0-7 and, in bit 8, "no descriptor
/// comes with this message" (polling instead of an eventfd).
/// </summary>
public readonly record struct VringFile(uint Index, bool NoDescriptor)
{
    public const ulong IndexMask = 0xff;
    public const ulong NoDescriptorFlag = 0x100;

    /// <summary>Bits other than the index and the flag must be zero.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out VringFile file)
    {
        if (!VhostUserU64.TryRead(payload, out var value) || (value & ~(IndexMask | NoDescriptorFlag)) != 0)
        {
            file = default;
            return false;
        }

        file = new VringFile((uint)(value & IndexMask), (value & NoDescriptorFlag) != 0);
        return true;
    }

    public ulong ToU64() => Index | (NoDescriptor ? NoDescriptorFlag : 0);
}
