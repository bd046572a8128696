namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>Why a ring walk stopped: every one of these is the driver's error (or hostility).</summary>
public enum RingFault
{
    None,

    /// <summary>avail.idx ran more than the ring size ahead of what the device has taken (split rings).</summary>
    AvailableIndexOutOfRange,

    /// <summary>A head, next index or packed buffer id at or past the ring size.</summary>
    DescriptorIndexOutOfRange,

    /// <summary>A chain longer than the ring: a loop (split), or NEXT on every slot (packed).</summary>
    ChainTooLong,

    /// <summary>A buffer that does not lie inside one mapped region.</summary>
    BufferOutsideMemory,

    /// <summary>An indirect descriptor, which netdevd does not offer.</summary>
    IndirectNotNegotiated,

    /// <summary>A readable descriptor after a writable one, or the wrong direction for the queue.</summary>
    WrongDirection,

    /// <summary>A single buffer larger than 2 GiB.</summary>
    BufferTooLarge,

    /// <summary>A packed ring slot whose AVAIL/USED flags no driver writes there (USED set by the driver).</summary>
    BadWrapFlags,
}
