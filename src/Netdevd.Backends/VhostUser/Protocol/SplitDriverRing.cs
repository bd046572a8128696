using System.Runtime.InteropServices;
using Netdevd.Native;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The driver's side of one split virtqueue (virtio 1.2, 2.7), in memory the driver owns: it
/// writes descriptors and the available ring, and reads the used ring the device fills. The
/// vhost-user front-end's counterpart of <see cref="SplitVirtqueue"/>. Not thread-safe: the
/// caller serialises offers and takes of one ring.
/// </summary>
/// <remarks>
/// Ordering as virtio asks of a driver: descriptors and ring entries are written before avail.idx
/// is published with release semantics; used.idx is read with acquire semantics before the
/// entries it covers; a full fence separates publishing avail.idx from reading the device's
/// notification suppression (avail_event or used.flags), and re-arming used_event from
/// re-reading used.idx, so that neither side sleeps on work the other just posted.
/// </remarks>
public sealed class SplitDriverRing
{
    private readonly SharedMapping _memory;
    private readonly long _descriptors;
    private readonly long _available;
    private readonly long _used;
    private readonly int _mask;

    /// <summary>Which descriptors the device holds: offered and not yet returned.</summary>
    private readonly bool[] _withDevice;
    private ushort _availableShadow;
    private ushort _publishedAvailable;
    private ushort _lastUsed;

    /// <param name="memory">The driver's shared memory holding the ring.</param>
    /// <param name="offset">Where the ring starts in it (<see cref="Bytes"/> long, 4096-aligned).</param>
    public SplitDriverRing(SharedMapping memory, long offset, int size, bool eventIndex)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (!SplitRingLayout.IsValidSize((uint)size))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "not a power of two up to 32768");
        }

        _memory = memory;
        Size = size;
        _mask = size - 1;
        _withDevice = new bool[size];
        EventIndex = eventIndex;
        _descriptors = offset;
        _available = offset + (long)SplitRingLayout.DescriptorTableBytes((uint)size);
        _used = Align(_available + (long)SplitRingLayout.AvailableBytes((uint)size), 4096);
        memory.Span(offset, (int)Bytes(size)).Clear();
    }

    public int Size { get; }

    public bool EventIndex { get; }

    /// <summary>Offsets of the three parts in the memory (to tell the device where they are).</summary>
    public long DescriptorOffset => _descriptors;

    public long AvailableOffset => _available;

    public long UsedOffset => _used;

    /// <summary>The bytes a ring of <paramref name="size"/> takes: descriptors and avail, then used on its own page.</summary>
    public static long Bytes(int size) =>
        Align(Align((long)SplitRingLayout.DescriptorTableBytes((uint)size) + (long)SplitRingLayout.AvailableBytes((uint)size), 4096) + (long)SplitRingLayout.UsedBytes((uint)size), 4096);

    /// <summary>Writes descriptor <paramref name="id"/>: one buffer, no chaining.</summary>
    public void WriteDescriptor(int id, ulong address, uint length, ushort flags)
    {
        var d = _memory.Span(_descriptors + ((long)id * SplitRingLayout.DescriptorSize), SplitRingLayout.DescriptorSize);
        MemoryMarshal.Write(d, in address);
        MemoryMarshal.Write(d[8..], in length);
        MemoryMarshal.Write(d[12..], in flags);
        ushort next = 0;
        MemoryMarshal.Write(d[14..], in next);
    }

    /// <summary>Changes only the length of descriptor <paramref name="id"/> (a transmit slot reused).</summary>
    public void SetDescriptorLength(int id, uint length) =>
        MemoryMarshal.Write(_memory.Span(_descriptors + ((long)id * SplitRingLayout.DescriptorSize) + 8, 4), in length);

    /// <summary>Puts the chain headed by <paramref name="id"/> into the available ring (not yet visible to the device).</summary>
    public void Offer(int id)
    {
        _withDevice[id] = true;
        var entry = (ushort)id;
        MemoryMarshal.Write(_memory.Span(_available + 4 + (2L * (_availableShadow & _mask)), 2), in entry);
        _availableShadow++;
    }

    /// <summary>Offers not yet published.</summary>
    public bool HasUnpublished => _availableShadow != _publishedAvailable;

    /// <summary>
    /// Publishes the offers and says whether the device wants a kick for them (its avail_event
    /// crossed, or, without EVENT_IDX, used.flags without NO_NOTIFY).
    /// </summary>
    public bool Publish()
    {
        var old = _publishedAvailable;
        if (old == _availableShadow)
        {
            return false;
        }

        Volatile.Write(ref U16(_available + 2), _availableShadow);
        _publishedAvailable = _availableShadow;
        Interlocked.MemoryBarrier();
        if (EventIndex)
        {
            var availEvent = Volatile.Read(ref U16(_used + 4 + (8L * Size)));
            return SplitRingLayout.NeedEvent(availEvent, _availableShadow, old);
        }

        return (Volatile.Read(ref U16(_used)) & SplitRingLayout.UsedNoNotify) == 0;
    }

    /// <summary>
    /// Takes the next used entry; false when the device has returned nothing more. Throws
    /// <see cref="InvalidDataException"/> for an entry naming a descriptor the device does not hold
    /// (out of range, never offered, or returned and not offered again since: a used index run
    /// ahead reads such entries too): a driver that took it would hand one buffer out twice.
    /// </summary>
    public bool TryTakeUsed(out int id, out uint length)
    {
        var usedIndex = Volatile.Read(ref U16(_used + 2));
        if (usedIndex == _lastUsed)
        {
            id = 0;
            length = 0;
            return false;
        }

        var element = _memory.Span(_used + 4 + (8L * (_lastUsed & _mask)), 8);
        var rawId = MemoryMarshal.Read<uint>(element);
        length = MemoryMarshal.Read<uint>(element[4..]);
        _lastUsed++;
        if (rawId >= (uint)Size || !_withDevice[rawId])
        {
            // The caller ends the connection: the ring's state can no longer be trusted.
            throw new InvalidDataException(rawId >= (uint)Size
                ? $"used ring returned descriptor {rawId} of a {Size}-entry ring"
                : $"used ring returned descriptor {rawId}, which the device does not hold");
        }

        _withDevice[rawId] = false;
        id = (int)rawId;
        return true;
    }

    /// <summary>
    /// Asks the device to signal the next used entry (used_event at our position, or avail.flags
    /// 0). Returns true when entries arrived meanwhile, so the caller drains again instead of waiting.
    /// </summary>
    public bool EnableNotifications()
    {
        if (EventIndex)
        {
            Volatile.Write(ref U16(_available + 4 + (2L * Size)), _lastUsed);
        }
        else
        {
            Volatile.Write(ref U16(_available), 0);
        }

        Interlocked.MemoryBarrier();
        return Volatile.Read(ref U16(_used + 2)) != _lastUsed;
    }

    /// <summary>Tells the device no signal is needed (while the driver drains anyway).</summary>
    public void DisableNotifications()
    {
        if (!EventIndex)
        {
            Volatile.Write(ref U16(_available), SplitRingLayout.AvailableNoInterrupt);
        }

        // With EVENT_IDX, used_event simply stays behind: the device signals once when crossing it.
    }

    private ref ushort U16(long offset) => ref MemoryMarshal.AsRef<ushort>(_memory.Span(offset, 2));

    private static long Align(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);
}
