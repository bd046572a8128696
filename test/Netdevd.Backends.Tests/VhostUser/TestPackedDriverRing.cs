using System.Buffers.Binary;
using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>
/// A packed ring laid out in <see cref="TestGuestMemory"/> as Linux's virtio driver lays it out:
/// the test plays the driver. Chains go into consecutive slots, every descriptor carrying the
/// AVAIL/USED bits of the lap its slot is in, the head's flags written last; used descriptors are
/// read back in order, each moving the driver's used slot on by the length of the chain it ends.
/// </summary>
internal sealed class TestPackedDriverRing
{
    private readonly TestGuestMemory _memory;
    private readonly Dictionary<ushort, int> _lengths = [];
    private int _next;
    private bool _wrap = true;
    private int _usedNext;
    private bool _usedWrap = true;
    private ushort _nextId;

    /// <param name="at">Where the ring starts (the descriptors; the event structures 0x8000 and 0x8010 after).</param>
    public TestPackedDriverRing(TestGuestMemory memory, ushort size, ulong at = TestGuestMemory.GuestBase)
    {
        _memory = memory;
        Size = size;
        DescriptorsAt = at;
        DriverEventAt = at + 0x8000;
        DeviceEventAt = at + 0x8010;
    }

    public ushort Size { get; }

    public ulong DescriptorsAt { get; }

    public ulong DriverEventAt { get; }

    public ulong DeviceEventAt { get; }

    /// <summary>SET_VRING_ADDR's view: the driver area as "available", the device area as "used".</summary>
    public VringAddress Address => new(0, 0, TestDriverRing.ToUser(DescriptorsAt), TestDriverRing.ToUser(DeviceEventAt), TestDriverRing.ToUser(DriverEventAt), 0);

    /// <summary>The driver's next slot and wrap counter, as a vring base (bit 15 the wrap counter).</summary>
    public ushort Base => (ushort)(_next | (_wrap ? 0x8000 : 0));

    /// <summary>Slots the device has not given back yet.</summary>
    public int Outstanding { get; private set; }

    /// <summary>Continues as if the driver had stopped at <paramref name="base"/> with everything used (a restored ring).</summary>
    public void Resume(ushort @base)
    {
        _next = _usedNext = @base & 0x7fff;
        _wrap = _usedWrap = (@base & 0x8000) != 0;
        Outstanding = 0;
    }

    /// <summary>Makes a chain of <paramref name="buffers"/> available under a fresh id; returns the id.</summary>
    public ushort Offer(params (ulong Address, uint Length, bool Writable)[] buffers)
    {
        var id = _nextId;
        _nextId = (ushort)((_nextId + 1) % Size);
        Offer(id, buffers);
        return id;
    }

    /// <summary>Makes a chain available under <paramref name="id"/>, head flags last.</summary>
    public void Offer(ushort id, params (ulong Address, uint Length, bool Writable)[] buffers)
    {
        var head = _next;
        ushort headFlags = 0;
        for (var i = 0; i < buffers.Length; i++)
        {
            var (address, length, writable) = buffers[i];
            var flags = (ushort)((writable ? SplitRingLayout.DescriptorWrite : 0) | (i + 1 < buffers.Length ? SplitRingLayout.DescriptorNext : 0));
            flags |= PackedRingLayout.AvailableFlags(_wrap);
            var d = Slot(_next);
            BinaryPrimitives.WriteUInt64LittleEndian(d, address);
            BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
            BinaryPrimitives.WriteUInt16LittleEndian(d[12..], id);
            if (i == 0)
            {
                headFlags = flags;
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(d[14..], flags);
            }

            if (++_next == Size)
            {
                _next = 0;
                _wrap = !_wrap;
            }
        }

        _lengths[id] = buffers.Length;
        Outstanding += buffers.Length;
        Thread.MemoryBarrier();
        BinaryPrimitives.WriteUInt16LittleEndian(Slot(head)[14..], headFlags);
    }

    /// <summary>Writes raw descriptor <paramref name="slot"/> (hostile rings).</summary>
    public void SetDescriptor(int slot, ulong address, uint length, ushort id, ushort flags)
    {
        var d = Slot(slot);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], id);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], flags);
    }

    /// <summary>The next used descriptor, when the device wrote one.</summary>
    public bool TryTakeUsed(out ushort id, out uint length)
    {
        var d = Slot(_usedNext);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
        id = 0;
        length = 0;
        if (((flags & PackedRingLayout.DescriptorUsed) != 0) != _usedWrap || ((flags & PackedRingLayout.DescriptorAvailable) != 0) != _usedWrap)
        {
            return false;
        }

        Thread.MemoryBarrier();
        id = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
        length = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
        var chain = _lengths.Remove(id, out var n) ? n : 1;
        Outstanding -= chain;
        _usedNext += chain;
        if (_usedNext >= Size)
        {
            _usedNext -= Size;
            _usedWrap = !_usedWrap;
        }

        return true;
    }

    /// <summary>The driver's event suppression structure (what the device reads before interrupting).</summary>
    public void SetDriverEvent(ushort offWrap, ushort flags)
    {
        var e = _memory.At(DriverEventAt, 4);
        BinaryPrimitives.WriteUInt16LittleEndian(e, offWrap);
        BinaryPrimitives.WriteUInt16LittleEndian(e[2..], flags);
    }

    public ushort DeviceEventOffWrap => BinaryPrimitives.ReadUInt16LittleEndian(_memory.At(DeviceEventAt, 2));

    public ushort DeviceEventFlags => BinaryPrimitives.ReadUInt16LittleEndian(_memory.At(DeviceEventAt + 2, 2));

    private Span<byte> Slot(int slot) => _memory.At(DescriptorsAt + (ulong)(16 * slot), 16);
}
