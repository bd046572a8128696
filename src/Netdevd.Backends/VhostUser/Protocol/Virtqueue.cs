namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The device's side of one virtqueue in the front-end's shared memory, split or packed: what the
/// transmitter and receiver of a queue pair use, whichever layout the driver negotiated. Chains
/// are taken in the driver's order, walked with <see cref="Walk"/>, and returned with
/// <see cref="AddUsed"/> in the order they were taken; <see cref="PublishUsed"/> makes the used
/// entries visible at once. Not thread-safe: one worker owns a queue at a time (the caller's lock).
/// </summary>
public abstract class Virtqueue
{
    private protected Virtqueue(GuestMemory memory, int size, bool eventIndex)
    {
        Memory = memory;
        Size = size;
        EventIndex = eventIndex;
    }

    public GuestMemory Memory { get; }

    public int Size { get; }

    /// <summary>VIRTIO_RING_F_EVENT_IDX was negotiated.</summary>
    public bool EventIndex { get; }

    /// <summary>
    /// What GET_VRING_BASE returns and SET_VRING_BASE restores: the next available entry; for a
    /// packed ring its slot in bits 0-14 and the driver's wrap counter in bit 15.
    /// </summary>
    public abstract ushort Base { get; }

    /// <summary>
    /// Translates the ring at <paramref name="address"/> (front-end user addresses), split or
    /// <paramref name="packed"/>, resuming at <paramref name="base"/> (see <see cref="Base"/>).
    /// </summary>
    public static Virtqueue? TryCreate(GuestMemory memory, VringAddress address, uint size, ushort @base, bool eventIndex, bool packed, out string error) =>
        packed
            ? PackedVirtqueue.TryCreate(memory, address, size, @base, eventIndex, out error)
            : SplitVirtqueue.TryCreate(memory, address, size, @base, eventIndex, out error);

    /// <summary>
    /// Takes the next available chain. False with <see cref="RingFault.None"/> when the ring is
    /// empty; false with a fault when the driver's ring is broken.
    /// </summary>
    public abstract bool TryTake(out ChainHead head, out RingFault fault);

    /// <summary>Where taking stands now, for <see cref="Rewind"/>.</summary>
    public abstract int Mark();

    /// <summary>Gives back every chain taken since <paramref name="mark"/> (no used entry was added since).</summary>
    public abstract void Rewind(int mark);

    /// <summary>A walker over the chain <paramref name="head"/> (from <see cref="TryTake"/>).</summary>
    public DescriptorChain Walk(ChainHead head) => new(this, head);

    /// <summary>Writes a used entry; visible to the driver only after <see cref="PublishUsed"/>.</summary>
    public abstract void AddUsed(ChainHead head, uint length);

    /// <summary>Publishes the used entries written so far (release: entries before the index or flags).</summary>
    public abstract void PublishUsed();

    /// <summary>After <see cref="PublishUsed"/>: whether the driver wants an interrupt for what was published since the last one.</summary>
    public abstract bool ShouldSignal();

    /// <summary>
    /// Asks the driver to kick (true) or not (false) when it adds buffers. Returns whether buffers
    /// arrived meanwhile (checked after asking), which the caller must then take without waiting.
    /// </summary>
    public abstract bool SetKickWanted(bool wanted);
}
