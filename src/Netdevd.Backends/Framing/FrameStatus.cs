namespace Netdevd.Backends.Framing;

/// <summary>What <see cref="FrameReassembler.TryTake"/> found in the buffered bytes.</summary>
internal enum FrameStatus
{
    /// <summary>A whole frame is returned.</summary>
    Frame,

    /// <summary>The next frame is incomplete: read more bytes.</summary>
    NeedMore,

    /// <summary>
    /// The next header announces more than the largest frame: the stream is unusable, as QEMU's
    /// net_fill_rstate decides ("oversized packet received, connection terminated").
    /// </summary>
    Oversize,
}
