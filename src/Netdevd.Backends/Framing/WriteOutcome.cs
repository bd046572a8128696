namespace Netdevd.Backends.Framing;

/// <summary>What became of a frame given to <see cref="FrameWriter.Write"/>.</summary>
internal enum WriteOutcome
{
    /// <summary>Header and frame are in the socket.</summary>
    Written,

    /// <summary>
    /// Part went out; the rest is held by the writer and goes first when the socket is writable
    /// again. The frame counts as taken; wait for POLLOUT before offering the next one.
    /// </summary>
    Partial,

    /// <summary>Nothing was written (EAGAIN, or an older remainder still waits): offer the frame again later.</summary>
    Blocked,

    /// <summary>A write error other than EAGAIN: the frame is lost (QEMU drops it too); the reader will see the connection end.</summary>
    Failed,
}
