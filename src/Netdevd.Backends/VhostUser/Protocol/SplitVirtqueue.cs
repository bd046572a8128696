using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The device's side of one split virtqueue in the front-end's shared memory. The three ring parts
/// are translated once, when the ring is set up, and each must lie inside one mapped region; every
/// index the driver writes is checked against the ring size before it is used, and every buffer is
/// translated (and refused outside the mapping) when a chain is walked. Not thread-safe: one
/// worker owns a queue at a time (the caller's lock), and the memory table must outlive it.
/// </summary>
/// <remarks>
/// Memory ordering is virtio's: the driver publishes ring entries before avail.idx, so avail.idx
/// is read with acquire semantics before the entries; the device writes used entries before
/// used.idx, published with release semantics; a full fence separates publishing used.idx from
/// reading used_event (and writing avail_event from re-reading avail.idx), as virtio requires for
/// notification suppression. Fields are little-endian, the host's order on x86-64 and arm64.
/// </remarks>
public sealed class SplitVirtqueue : Virtqueue
{
    private readonly HostRange _descriptors;
    private readonly HostRange _available;
    private readonly HostRange _used;
    private readonly int _mask;
    private ushort _lastAvailable;
    private ushort _usedShadow;
    private ushort _lastSignalled;
    private bool _signalledValid;

    private SplitVirtqueue(GuestMemory memory, HostRange descriptors, HostRange available, HostRange used, uint size, ushort lastAvailable, bool eventIndex)
        : base(memory, (int)size, eventIndex)
    {
        _descriptors = descriptors;
        _available = available;
        _used = used;
        _mask = (int)size - 1;
        _lastAvailable = lastAvailable;

        // The used ring continues from where the driver saw it (a reconnect keeps used.idx).
        _usedShadow = Volatile.Read(ref U16(_used, 2));
    }

    /// <summary>The next available entry the device will take (what GET_VRING_BASE returns).</summary>
    public ushort LastAvailableIndex => _lastAvailable;

    public override ushort Base => _lastAvailable;

    /// <summary>The used index the device has written (published or not).</summary>
    public ushort UsedIndex => _usedShadow;

    /// <summary>
    /// Translates the ring of <paramref name="address"/> (front-end user addresses) in
    /// <paramref name="memory"/>. Fails for a size that is not a power of two up to 32768, a
    /// misaligned part, or a part not wholly inside one region.
    /// </summary>
    public static SplitVirtqueue? TryCreate(GuestMemory memory, VringAddress address, uint size, ushort lastAvailable, bool eventIndex, out string error)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (!SplitRingLayout.IsValidSize(size))
        {
            error = $"ring size {size} is not a power of two from 1 to {SplitRingLayout.MaxSize}";
            return null;
        }

        if (address.Descriptors % SplitRingLayout.DescriptorAlignment != 0
            || address.Available % SplitRingLayout.AvailableAlignment != 0
            || address.Used % SplitRingLayout.UsedAlignment != 0)
        {
            error = "ring addresses are misaligned";
            return null;
        }

        if (!memory.TryTranslateUser(address.Descriptors, SplitRingLayout.DescriptorTableBytes(size), out var descriptors)
            || !memory.TryTranslateUser(address.Available, SplitRingLayout.AvailableBytes(size), out var available)
            || !memory.TryTranslateUser(address.Used, SplitRingLayout.UsedBytes(size), out var used))
        {
            error = "a ring part lies outside the mapped memory";
            return null;
        }

        error = "";
        return new SplitVirtqueue(memory, descriptors, available, used, size, lastAvailable, eventIndex);
    }

    /// <summary>How many entries the driver has made available beyond what the device took, or -1 when that exceeds the ring (a fault).</summary>
    public int AvailableCount()
    {
        var index = Volatile.Read(ref U16(_available, 2));
        var pending = (ushort)(index - _lastAvailable);
        return pending > Size ? -1 : pending;
    }

    /// <summary>
    /// Takes the next available chain's head. False with <see cref="RingFault.None"/> when the
    /// ring is empty; false with a fault when the driver's indexes are out of range.
    /// </summary>
    public override bool TryTake(out ChainHead head, out RingFault fault)
    {
        head = default;
        var count = AvailableCount();
        if (count < 0)
        {
            fault = RingFault.AvailableIndexOutOfRange;
            return false;
        }

        if (count == 0)
        {
            fault = RingFault.None;
            return false;
        }

        // avail.idx was read with acquire semantics above: the entry is the driver's final one.
        var entry = Volatile.Read(ref U16(_available, 4 + (2 * (_lastAvailable & _mask))));
        if (entry >= Size)
        {
            fault = RingFault.DescriptorIndexOutOfRange;
            return false;
        }

        _lastAvailable++;
        head = new ChainHead(entry, entry, 1);
        fault = RingFault.None;
        return true;
    }

    public override int Mark() => _lastAvailable;

    public override void Rewind(int mark) => _lastAvailable = (ushort)mark;

    public override void AddUsed(ChainHead head, uint length)
    {
        var entry = _used.Slice(4 + (8 * (_usedShadow & _mask)), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(entry, head.Id);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], length);
        _usedShadow++;
    }

    public override void PublishUsed() => Volatile.Write(ref U16(_used, 2), _usedShadow);

    /// <summary>EVENT_IDX: whether used_event was crossed; else avail.flags.</summary>
    public override bool ShouldSignal()
    {
        Interlocked.MemoryBarrier();
        var published = _usedShadow;
        if (!EventIndex)
        {
            return (Volatile.Read(ref U16(_available, 0)) & SplitRingLayout.AvailableNoInterrupt) == 0;
        }

        var old = _lastSignalled;
        var valid = _signalledValid;
        _lastSignalled = published;
        _signalledValid = true;
        var usedEvent = Volatile.Read(ref U16(_available, 4 + (2 * Size)));
        return !valid || SplitRingLayout.NeedEvent(usedEvent, published, old);
    }

    /// <summary>
    /// With EVENT_IDX only the asking writes: avail_event = the next entry the device wants, so
    /// the first new buffer kicks; a stale avail_event suppresses kicks by itself.
    /// </summary>
    public override bool SetKickWanted(bool wanted)
    {
        if (EventIndex)
        {
            if (!wanted)
            {
                return false;
            }

            Volatile.Write(ref U16(_used, 4 + (8 * Size)), _lastAvailable);
        }
        else
        {
            Volatile.Write(ref U16(_used, 0), wanted ? (ushort)0 : SplitRingLayout.UsedNoNotify);
            if (!wanted)
            {
                return false;
            }
        }

        Interlocked.MemoryBarrier();
        return AvailableCount() != 0;
    }

    /// <summary>Reads descriptor <paramref name="index"/> (already checked below the size) into locals, once.</summary>
    internal void ReadDescriptor(int index, out ulong address, out uint length, out ushort flags, out ushort next)
    {
        ReadOnlySpan<byte> d = _descriptors.Slice(SplitRingLayout.DescriptorSize * index, SplitRingLayout.DescriptorSize);
        address = BinaryPrimitives.ReadUInt64LittleEndian(d);
        length = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
        flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
        next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
    }

    private static ref ushort U16(HostRange range, int offset) => ref MemoryMarshal.AsRef<ushort>(range.Slice(offset, 2));
}
