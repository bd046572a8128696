using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The device's side of one packed virtqueue (virtio 1.2, 2.8) in the front-end's shared memory.
/// The driver makes a descriptor available by setting its AVAIL bit to its wrap counter and its
/// USED bit to the opposite; the device takes chains from its next slot on, in order, and writes
/// one used descriptor per chain (AVAIL = USED = its own wrap counter) at its used slot, which
/// moves on by the chain's length; both counters flip each time their slot passes the ring's end.
/// Every chain is bounded by the ring size, every id checked against it, every buffer translated
/// (and refused outside the mapping) when walked, and a slot whose flags no driver could have
/// written at that point of the ring (USED set by the driver in this lap) is a fault.
/// </summary>
/// <remarks>
/// Memory ordering: the driver writes a chain's head flags last, so the head's flags are read
/// with acquire semantics before the rest of the chain. Used descriptors of a batch are written
/// with the first one's flags held back and stored last, with release semantics
/// (<see cref="PublishUsed"/>), so the driver, which reads slots in order, sees the batch at once.
/// Event suppression: a full fence between publishing and reading the driver's structure, and
/// between writing the device's structure and looking at the ring again.
/// </remarks>
public sealed class PackedVirtqueue : Virtqueue
{
    private readonly HostRange _descriptors;
    private readonly HostRange _driverEvent;
    private readonly HostRange _deviceEvent;
    private int _nextAvailable;
    private bool _availableWrap;
    private int _nextUsed;
    private bool _usedWrap;
    private int _heldSlot = -1;
    private ushort _heldFlags;
    private int _signalled;
    private bool _signalledValid;
    private ushort _deviceFlags = ushort.MaxValue;

    private PackedVirtqueue(GuestMemory memory, HostRange descriptors, HostRange driverEvent, HostRange deviceEvent, uint size, ushort @base, bool eventIndex)
        : base(memory, (int)size, eventIndex)
    {
        _descriptors = descriptors;
        _driverEvent = driverEvent;
        _deviceEvent = deviceEvent;

        // A stopped ring has used every chain it took: the used slot resumes where taking does.
        _nextAvailable = _nextUsed = @base & ~PackedRingLayout.WrapBit;
        _availableWrap = _usedWrap = (@base & PackedRingLayout.WrapBit) != 0;
    }

    public override ushort Base => Encode(_nextAvailable, _availableWrap);

    /// <summary>The slot the next used descriptor goes to and the device's wrap counter, encoded as a base.</summary>
    public ushort UsedPosition => Encode(_nextUsed, _usedWrap);

    /// <summary>
    /// Translates the ring of <paramref name="address"/>: descriptors at Descriptors, the driver's
    /// event suppression at Available, the device's at Used. Fails for a size past 32768, a
    /// misaligned part, a part not wholly inside one region, or a base whose slot is past the ring.
    /// </summary>
    public static PackedVirtqueue? TryCreate(GuestMemory memory, VringAddress address, uint size, ushort @base, bool eventIndex, out string error)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (!PackedRingLayout.IsValidSize(size))
        {
            error = $"ring size {size} is not from 1 to {PackedRingLayout.MaxSize}";
            return null;
        }

        if ((@base & ~PackedRingLayout.WrapBit) >= size)
        {
            error = $"ring base {@base & ~PackedRingLayout.WrapBit} is past the ring size {size}";
            return null;
        }

        if (address.Descriptors % PackedRingLayout.DescriptorAlignment != 0
            || address.Available % PackedRingLayout.EventAlignment != 0
            || address.Used % PackedRingLayout.EventAlignment != 0)
        {
            error = "ring addresses are misaligned";
            return null;
        }

        if (!memory.TryTranslateUser(address.Descriptors, PackedRingLayout.DescriptorRingBytes(size), out var descriptors)
            || !memory.TryTranslateUser(address.Available, PackedRingLayout.EventBytes, out var driverEvent)
            || !memory.TryTranslateUser(address.Used, PackedRingLayout.EventBytes, out var deviceEvent))
        {
            error = "a ring part lies outside the mapped memory";
            return null;
        }

        error = "";
        return new PackedVirtqueue(memory, descriptors, driverEvent, deviceEvent, size, @base, eventIndex);
    }

    public override bool TryTake(out ChainHead head, out RingFault fault)
    {
        head = default;
        var flags = Volatile.Read(ref Flags(_nextAvailable));
        if (!IsAvailable(flags, _availableWrap, out fault))
        {
            return false;
        }

        // The head's flags were read with acquire semantics: the rest of the chain is final.
        var slot = _nextAvailable;
        var count = 1;
        while ((flags & PackedRingLayout.DescriptorNext) != 0)
        {
            if ((flags & PackedRingLayout.DescriptorIndirect) != 0)
            {
                fault = RingFault.IndirectNotNegotiated;
                return false;
            }

            if (++count > Size)
            {
                fault = RingFault.ChainTooLong;
                return false;
            }

            slot = slot + 1 == Size ? 0 : slot + 1;
            flags = Flags(slot);
        }

        // The buffer id is the last descriptor's; ids name one of Size buffers.
        var id = BinaryPrimitives.ReadUInt16LittleEndian(Descriptor(slot)[PackedRingLayout.IdOffset..]);
        if (id >= Size)
        {
            fault = RingFault.DescriptorIndexOutOfRange;
            return false;
        }

        head = new ChainHead((ushort)_nextAvailable, id, (ushort)count);
        Advance(ref _nextAvailable, ref _availableWrap, count);
        return true;
    }

    public override int Mark() => Base;

    public override void Rewind(int mark)
    {
        _nextAvailable = mark & ~PackedRingLayout.WrapBit;
        _availableWrap = (mark & PackedRingLayout.WrapBit) != 0;
    }

    public override void AddUsed(ChainHead head, uint length)
    {
        var descriptor = Descriptor(_nextUsed);
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor[PackedRingLayout.LengthOffset..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[PackedRingLayout.IdOffset..], head.Id);
        var flags = PackedRingLayout.UsedFlags(_usedWrap);
        if (length != 0)
        {
            flags |= PackedRingLayout.DescriptorWrite;
        }

        if (_heldSlot < 0)
        {
            // The batch's first: the driver sees nothing of the batch until its flags are stored.
            _heldSlot = _nextUsed;
            _heldFlags = flags;
        }
        else
        {
            Volatile.Write(ref Flags(_nextUsed), flags);
        }

        Advance(ref _nextUsed, ref _usedWrap, head.Descriptors);
    }

    public override void PublishUsed()
    {
        if (_heldSlot >= 0)
        {
            Volatile.Write(ref Flags(_heldSlot), _heldFlags);
            _heldSlot = -1;
        }
    }

    /// <summary>
    /// The driver's event suppression: enabled, disabled, or (EVENT_IDX) the slot and wrap
    /// counter whose use should interrupt, which counts as reached when the used slot moved past
    /// it since the last interrupt.
    /// </summary>
    public override bool ShouldSignal()
    {
        Interlocked.MemoryBarrier();

        // The position compared against follows every publish, also while the driver has
        // interrupts off or plainly on: the slot it asks for once it turns EVENT_IDX back on lies
        // after what it has seen, and a position left from laps before would miss it.
        var updated = _nextUsed;
        var old = _signalled;
        var valid = _signalledValid;
        _signalled = updated;
        _signalledValid = true;
        var flags = Volatile.Read(ref U16(_driverEvent, 2)) & 3;
        if (flags != PackedRingLayout.EventDescriptor || !EventIndex)
        {
            return flags != PackedRingLayout.EventDisable;
        }

        if (!valid)
        {
            return true;
        }

        var offWrap = Volatile.Read(ref U16(_driverEvent, 0));
        var offset = offWrap & ~PackedRingLayout.WrapBit;
        if (updated <= old)
        {
            old -= Size;
        }

        if (((offWrap & PackedRingLayout.WrapBit) != 0) != _usedWrap)
        {
            // The slot is in the lap before this one.
            offset -= Size;
        }

        return SplitRingLayout.NeedEvent((ushort)offset, (ushort)updated, (ushort)old);
    }

    /// <summary>
    /// The device's event suppression: disabled, or enabled; with EVENT_IDX enabled at the next
    /// slot the device will look at, so the next chain made available kicks.
    /// </summary>
    public override bool SetKickWanted(bool wanted)
    {
        if (!wanted)
        {
            WriteDeviceFlags(PackedRingLayout.EventDisable);
            return false;
        }

        if (EventIndex)
        {
            Volatile.Write(ref U16(_deviceEvent, 0), Base);
            WriteDeviceFlags(PackedRingLayout.EventDescriptor);
        }
        else
        {
            WriteDeviceFlags(PackedRingLayout.EventEnable);
        }

        Interlocked.MemoryBarrier();
        return IsAvailable(Volatile.Read(ref Flags(_nextAvailable)), _availableWrap, out _);
    }

    /// <summary>Reads slot <paramref name="slot"/> (below the size) into locals, once, for a chain walk.</summary>
    internal void ReadDescriptor(int slot, out ulong address, out uint length, out ushort flags)
    {
        ReadOnlySpan<byte> d = Descriptor(slot);
        address = BinaryPrimitives.ReadUInt64LittleEndian(d);
        length = BinaryPrimitives.ReadUInt32LittleEndian(d[PackedRingLayout.LengthOffset..]);
        flags = BinaryPrimitives.ReadUInt16LittleEndian(d[PackedRingLayout.FlagsOffset..]);
    }

    private static ushort Encode(int slot, bool wrap) => (ushort)(slot | (wrap ? PackedRingLayout.WrapBit : 0));

    /// <summary>
    /// Whether the flags at the device's next slot offer a chain. Not yet available: what the
    /// device wrote in the lap before (AVAIL = USED = not the wrap counter), or a chain the
    /// device took in the lap before and has not used yet, or used with its flags still held
    /// back. Anything else (USED set in this lap, or the driver's previous-lap flags with nothing
    /// outstanding) no driver writes: a fault.
    /// </summary>
    private bool IsAvailable(ushort flags, bool wrap, out RingFault fault)
    {
        fault = RingFault.None;
        var available = (flags & PackedRingLayout.DescriptorAvailable) != 0;
        var used = (flags & PackedRingLayout.DescriptorUsed) != 0;
        if (available == wrap && used != wrap)
        {
            return true;
        }

        if (available != wrap && used == wrap && _heldSlot < 0 && _nextUsed == _nextAvailable && _usedWrap == _availableWrap)
        {
            fault = RingFault.BadWrapFlags;
        }
        else if (available == wrap && used == wrap)
        {
            fault = RingFault.BadWrapFlags;
        }

        return false;
    }

    private void Advance(ref int slot, ref bool wrap, int count)
    {
        slot += count;
        if (slot >= Size)
        {
            slot -= Size;
            wrap = !wrap;
        }
    }

    private Span<byte> Descriptor(int slot) => _descriptors.Slice(PackedRingLayout.DescriptorSize * slot, PackedRingLayout.DescriptorSize);

    private ref ushort Flags(int slot) => ref U16(_descriptors, (PackedRingLayout.DescriptorSize * slot) + PackedRingLayout.FlagsOffset);

    private void WriteDeviceFlags(ushort flags)
    {
        if (_deviceFlags != flags)
        {
            _deviceFlags = flags;
            Volatile.Write(ref U16(_deviceEvent, 2), flags);
        }
    }

    private static ref ushort U16(HostRange range, int offset) => ref MemoryMarshal.AsRef<ushort>(range.Slice(offset, 2));
}
