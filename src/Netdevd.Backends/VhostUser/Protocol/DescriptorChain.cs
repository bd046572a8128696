namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// Walks one descriptor chain of a <see cref="SplitVirtqueue"/>, translating each buffer. Each
/// descriptor is read once into locals (the driver may rewrite it meanwhile); a next index at or
/// past the ring size, more descriptors than the ring holds (a loop), an indirect table, a
/// buffer outside the mapping, or a readable buffer after a writable one ends the walk with a
/// <see cref="RingFault"/>.
/// </summary>
public ref struct DescriptorChain
{
    private readonly SplitVirtqueue _queue;
    private int _next;
    private int _seen;
    private bool _done;
    private bool _sawWritable;

    internal DescriptorChain(SplitVirtqueue queue, ushort head)
    {
        _queue = queue;
        _next = head;
        Head = head;
    }

    /// <summary>The head this walk started at (what goes into the used ring).</summary>
    public ushort Head { get; }

    /// <summary>The next buffer; false at the end (fault None) or on a fault.</summary>
    public bool TryNext(out RingBuffer buffer, out RingFault fault)
    {
        buffer = default;
        fault = RingFault.None;
        if (_done)
        {
            return false;
        }

        if (_next >= _queue.Size)
        {
            return Fail(RingFault.DescriptorIndexOutOfRange, out fault);
        }

        if (++_seen > _queue.Size)
        {
            return Fail(RingFault.ChainTooLong, out fault);
        }

        _queue.ReadDescriptor(_next, out var address, out var length, out var flags, out var next);
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
        if (length != 0 && !_queue.Memory.TryTranslateGuest(address, length, out range))
        {
            return Fail(RingFault.BufferOutsideMemory, out fault);
        }

        if ((flags & SplitRingLayout.DescriptorNext) != 0)
        {
            _next = next;
        }
        else
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
