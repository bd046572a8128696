namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// Walks one descriptor chain of a <see cref="Virtqueue"/>, translating each buffer. Each
/// descriptor is read once into locals (the driver may rewrite it meanwhile). In a split ring a
/// next index at or past the ring size or more descriptors than the ring holds (a loop) ends the
/// walk with a <see cref="RingFault"/>; in a packed ring the chain's slots follow each other and
/// the walk never goes past the length <see cref="Virtqueue.TryTake"/> found. Either way an
/// indirect table, a buffer outside the mapping, or a readable buffer after a writable one is a
/// fault.
/// </summary>
public ref struct DescriptorChain
{
    private readonly SplitVirtqueue? _split;
    private readonly PackedVirtqueue? _packed;
    private readonly int _limit;
    private readonly GuestMemory _memory;
    private int _next;
    private int _seen;
    private bool _done;
    private bool _sawWritable;

    internal DescriptorChain(Virtqueue queue, ChainHead head)
    {
        _split = queue as SplitVirtqueue;
        _packed = _split is null ? (PackedVirtqueue)queue : null;
        _limit = _split is null ? head.Descriptors : queue.Size;
        _memory = queue.Memory;
        _next = head.Index;
        Head = head;
    }

    /// <summary>The chain this walk is over (what goes into the used ring).</summary>
    public ChainHead Head { get; }

    /// <summary>The next buffer; false at the end (fault None) or on a fault.</summary>
    public bool TryNext(out RingBuffer buffer, out RingFault fault)
    {
        buffer = default;
        fault = RingFault.None;
        if (_done)
        {
            return false;
        }

        ulong address;
        uint length;
        ushort flags;
        if (_split is not null)
        {
            if (_next >= _split.Size)
            {
                return Fail(RingFault.DescriptorIndexOutOfRange, out fault);
            }

            if (++_seen > _limit)
            {
                return Fail(RingFault.ChainTooLong, out fault);
            }

            _split.ReadDescriptor(_next, out address, out length, out flags, out var next);
            _next = next;
        }
        else
        {
            // Slots one after another, as many as TryTake counted (a chain the driver rewrote
            // since ends early or is cut there).
            _packed!.ReadDescriptor(_next, out address, out length, out flags);
            _next = _next + 1 == _packed.Size ? 0 : _next + 1;
            if (++_seen == _limit)
            {
                flags &= unchecked((ushort)~PackedRingLayout.DescriptorNext);
            }
        }

        if ((flags & SplitRingLayout.DescriptorIndirect) != 0)
        {
            return Fail(RingFault.IndirectNotNegotiated, out fault);
        }

        if (length > int.MaxValue)
        {
            return Fail(RingFault.BufferTooLarge, out fault);
        }

        var writable = (flags & SplitRingLayout.DescriptorWrite) != 0;
        if (!writable && _sawWritable)
        {
            return Fail(RingFault.WrongDirection, out fault);
        }

        _sawWritable |= writable;
        HostRange range = default;
        if (length != 0 && !_memory.TryTranslateGuest(address, length, out range))
        {
            return Fail(RingFault.BufferOutsideMemory, out fault);
        }

        if ((flags & SplitRingLayout.DescriptorNext) == 0)
        {
            _done = true;
        }

        buffer = new RingBuffer(range, writable);
        return true;
    }

    private bool Fail(RingFault reason, out RingFault fault)
    {
        _done = true;
        fault = reason;
        return false;
    }
}
