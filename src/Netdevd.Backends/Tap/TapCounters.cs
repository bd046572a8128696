namespace Netdevd.Backends.Tap;

/// <summary>What a tap did beyond the frame counts of <see cref="Core.Clients.NetClientStats"/> (for tests and diagnostics).</summary>
public sealed class TapCounters
{
    private long _readErrors;
    private long _writeErrors;
    private long _offloadDrops;
    private long _segmented;
    private long _checksumsCompleted;

    public long ReadErrors => Interlocked.Read(ref _readErrors);

    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    /// <summary>Frames whose offload request could not be resolved in software (UFO, malformed).</summary>
    public long OffloadDrops => Interlocked.Read(ref _offloadDrops);

    /// <summary>GSO super-frames split in software for a peer without headers.</summary>
    public long Segmented => Interlocked.Read(ref _segmented);

    public long ChecksumsCompleted => Interlocked.Read(ref _checksumsCompleted);

    internal void ReadError() => Interlocked.Increment(ref _readErrors);

    internal void WriteError() => Interlocked.Increment(ref _writeErrors);

    internal void OffloadDrop() => Interlocked.Increment(ref _offloadDrops);

    internal void SegmentedFrame() => Interlocked.Increment(ref _segmented);

    internal void ChecksumCompleted() => Interlocked.Increment(ref _checksumsCompleted);
}
