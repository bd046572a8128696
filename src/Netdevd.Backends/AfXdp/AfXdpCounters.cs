namespace Netdevd.Backends.AfXdp;

/// <summary>What an af-xdp netdev dropped beyond the frame counts of <see cref="Core.Clients.NetClientStats"/>.</summary>
public sealed class AfXdpCounters
{
    private long _oversize;
    private long _invalid;

    /// <summary>Frames for the interface longer than a UMEM frame (4096 bytes): AF_XDP has no offloads to split them.</summary>
    public long OversizeDrops => Interlocked.Read(ref _oversize);

    /// <summary>RX descriptors pointing outside the receive frames (never from a sane kernel).</summary>
    public long InvalidDescriptors => Interlocked.Read(ref _invalid);

    internal void Oversize() => Interlocked.Increment(ref _oversize);

    internal void InvalidDescriptor() => Interlocked.Increment(ref _invalid);
}
