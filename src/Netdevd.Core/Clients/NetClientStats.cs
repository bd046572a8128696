namespace Netdevd.Core.Clients;

/// <summary>
/// Counters of one client. The frame counters are updated on the data path with plain increments
/// under the client's lock; the rare events (<see cref="Faults"/>, <see cref="LoopDrops"/>) may be
/// counted from any thread and are atomic.
/// </summary>
public sealed class NetClientStats
{
    private long _faults;
    private long _loopDrops;

    public long ReceivedFrames { get; internal set; }

    public long ReceivedBytes { get; internal set; }

    public long SentFrames { get; internal set; }

    public long SentBytes { get; internal set; }

    /// <summary>Received frames the sender read straight into this client's buffer (no copy; see NetClient's in-place sends).</summary>
    public long ReceivedInPlace { get; internal set; }

    /// <summary>Received frames taken in pieces as the sender gave them (not joined first; see NetClient's gather sends).</summary>
    public long ReceivedInPieces { get; internal set; }

    /// <summary>Frames for this client dropped because its queue was full, the link was down or the frame too large.</summary>
    public long Dropped { get; internal set; }

    /// <summary>Frames queued because this client was busy.</summary>
    public long Queued { get; internal set; }

    /// <summary>
    /// Frames (or I/O callbacks) of this client whose handling threw inside netdevd: each was
    /// dropped and the client went on (see <see cref="FrameFaults"/>). Nonzero means a bug.
    /// </summary>
    public long Faults => Volatile.Read(ref _faults);

    /// <summary>
    /// Hub ports: frames that came back into this port's hub through this port while the hub was
    /// still forwarding them (a loop of hubports), or that would have nested more than
    /// <see cref="Hubs.Hub.MaxNesting"/> hubs deep; each was dropped instead of circling.
    /// </summary>
    public long LoopDrops => Volatile.Read(ref _loopDrops);

    internal void CountDrop() => Dropped++;

    internal void CountFault() => Interlocked.Increment(ref _faults);

    internal void CountLoopDrop() => Interlocked.Increment(ref _loopDrops);
}
