namespace Netdevd.Backends.AfXdp;

/// <summary>What an af-xdp netdev dropped beyond the frame counts of <see cref="Core.Clients.NetClientStats"/>.</summary>
public sealed class AfXdpCounters
{
    private long _oversize;
    private long _invalid;
    private long _deferred;

    /// <summary>Frames for the interface longer than a UMEM frame (4096 bytes): AF_XDP has no offloads to split them.</summary>
    public long OversizeDrops => Interlocked.Read(ref _oversize);

    /// <summary>RX descriptors pointing outside the receive frames (never from a sane kernel).</summary>
    public long InvalidDescriptors => Interlocked.Read(ref _invalid);

    /// <summary>
    /// Kicks that left frames on the TX ring because the kernel could take no more for now (no
    /// socket memory, a busy device): they went out from the poll loop once it could.
    /// </summary>
    public long DeferredTransmits => Interlocked.Read(ref _deferred);

    internal void Oversize() => Interlocked.Increment(ref _oversize);

    internal void InvalidDescriptor() => Interlocked.Increment(ref _invalid);

    internal void TransmitDeferred() => Interlocked.Increment(ref _deferred);
}
