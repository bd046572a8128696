namespace Netdevd.Native;

/// <summary>
/// One AF_XDP ring mapped from its socket: fill and TX rings are produced by netdevd, RX and
/// completion rings by the kernel. The index arithmetic is libxdp's (xsk.h): free-running 32-bit
/// producer and consumer counters, a cached copy of the other side's counter so that most calls
/// touch no shared cache line, acquire loads of the other side and release stores of ours.
/// Fill and completion entries are 8-byte UMEM offsets, RX and TX entries 16-byte xdp_desc.
/// </summary>
public sealed unsafe class XdpRing : IDisposable
{
    private nint _map;
    private readonly nuint _mapLength;
    private readonly uint* _producer;
    private readonly uint* _consumer;
    private readonly uint* _flags;
    private readonly byte* _entries;
    private readonly uint _mask;
    private readonly uint _size;
    private readonly int _entrySize;
    private readonly bool _produced;
    private uint _cachedProducer;
    private uint _cachedConsumer;

    private XdpRing(nint map, nuint mapLength, XdpRingOffset offsets, uint size, int entrySize, bool produced)
    {
        _map = map;
        _mapLength = mapLength;
        _producer = (uint*)(map + (nint)offsets.Producer);
        _consumer = (uint*)(map + (nint)offsets.Consumer);
        _flags = (uint*)(map + (nint)offsets.Flags);
        _entries = (byte*)(map + (nint)offsets.Descriptors);
        _size = size;
        _mask = size - 1;
        _entrySize = entrySize;
        _produced = produced;
        _cachedProducer = Volatile.Read(ref *_producer);
        _cachedConsumer = Volatile.Read(ref *_consumer);
        if (produced)
        {
            // A producer sees the ring as free up to one lap ahead of the consumer.
            _cachedConsumer += size;
        }
    }

    public uint Size => _size;

    /// <summary>Maps the ring at page offset <paramref name="pageOffset"/> of <paramref name="fd"/>; null with errno set.</summary>
    public static XdpRing? Map(int fd, long pageOffset, XdpRingOffset offsets, uint size, bool descriptors, bool produced)
    {
        var entrySize = descriptors ? 16 : 8;
        var length = (nuint)(offsets.Descriptors + (size * entrySize));
        var p = Libc.Mmap(0, length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, pageOffset);
        return p == Libc.MapFailed ? null : new XdpRing(p, length, offsets, size, entrySize, produced);
    }

    /// <summary>The kernel asks for a system call (XDP_USE_NEED_WAKEUP) before it goes on with this ring.</summary>
    public bool NeedsWakeup => (Volatile.Read(ref *_flags) & Xdp.XDP_RING_NEED_WAKEUP) != 0;

    /// <summary>Producer side: free entries, refreshing the cached consumer only when too few are known.</summary>
    public uint Free(uint wanted)
    {
        var free = _cachedConsumer - _cachedProducer;
        if (free >= wanted)
        {
            return free;
        }

        _cachedConsumer = Volatile.Read(ref *_consumer) + _size;
        return _cachedConsumer - _cachedProducer;
    }

    /// <summary>Producer side: reserves exactly <paramref name="count"/> entries from <paramref name="index"/>, or none.</summary>
    public bool TryReserve(uint count, out uint index)
    {
        index = _cachedProducer;
        if (Free(count) < count)
        {
            return false;
        }

        _cachedProducer += count;
        return true;
    }

    /// <summary>Producer side: a UMEM offset into a fill-ring entry.</summary>
    public void SetAddress(uint index, ulong address) => *(ulong*)(_entries + ((index & _mask) * 8)) = address;

    /// <summary>Producer side: a TX descriptor.</summary>
    public void SetDescriptor(uint index, ulong address, uint length)
    {
        var d = _entries + ((index & _mask) * 16);
        *(ulong*)d = address;
        *(uint*)(d + 8) = length;
        *(uint*)(d + 12) = 0;
    }

    /// <summary>Producer side: publishes everything reserved so far (a release store).</summary>
    public void Submit() => Volatile.Write(ref *_producer, _cachedProducer);

    /// <summary>Consumer side: entries ready, at most <paramref name="max"/>, from <paramref name="index"/>.</summary>
    public uint Peek(uint max, out uint index)
    {
        var ready = _cachedProducer - _cachedConsumer;
        if (ready == 0)
        {
            _cachedProducer = Volatile.Read(ref *_producer);
            ready = _cachedProducer - _cachedConsumer;
        }

        index = _cachedConsumer;
        var n = ready > max ? max : ready;
        _cachedConsumer += n;
        return n;
    }

    /// <summary>
    /// Entries on the ring the other side has not taken yet, for diagnostics and for sizing a
    /// kick: producer side, submitted entries the kernel has not consumed (as far as it has
    /// published its consumer index); consumer side, entries the kernel produced that netdevd has
    /// not peeked. A racy snapshot when read off the ring's thread.
    /// </summary>
    public uint Pending => _produced
        ? _cachedProducer - Volatile.Read(ref *_consumer)
        : Volatile.Read(ref *_producer) - _cachedConsumer;

    /// <summary>Consumer side: gives back the last <paramref name="count"/> peeked entries unread.</summary>
    public void Cancel(uint count) => _cachedConsumer -= count;

    /// <summary>Consumer side: a completion-ring entry.</summary>
    public ulong GetAddress(uint index) => *(ulong*)(_entries + ((index & _mask) * 8));

    /// <summary>Consumer side: an RX descriptor.</summary>
    public ulong GetDescriptor(uint index, out uint length)
    {
        var d = _entries + ((index & _mask) * 16);
        length = *(uint*)(d + 8);
        return *(ulong*)d;
    }

    /// <summary>Consumer side: hands everything peeked back to the kernel (a release store).</summary>
    public void Release() => Volatile.Write(ref *_consumer, _cachedConsumer);

    public void Dispose()
    {
        var map = _map;
        _map = 0;
        if (map != 0)
        {
            _ = Libc.Munmap(map, _mapLength);
        }
    }

    // Producer/consumer orientation is fixed per ring; the flag is kept for diagnostics.
    public override string ToString() => $"{(_produced ? "produced" : "consumed")} ring of {_size} x {_entrySize}";
}
