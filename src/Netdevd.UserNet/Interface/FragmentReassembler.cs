using System.Buffers;
using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Interface;

/// <summary>
/// IPv4 reassembly (RFC 791/815) for datagrams the guest sends in fragments, e.g. UDP larger than
/// its MTU. Bounded so that no guest can make the host hold much: a fixed number of datagrams in
/// progress (the oldest is evicted to make room for a new one, so a flood of pieces that never
/// complete cannot lock out the datagrams that do), each at most 65535 bytes with a limited number
/// of pieces, its buffer reserved from the netdev's <see cref="MemoryBudget"/>, dropped when it
/// does not complete in time. Single-threaded: the stack's owner serialises calls.
/// </summary>
internal sealed class FragmentReassembler : IDisposable
{
    /// <summary>The largest IPv4 datagram, header included.</summary>
    public const int MaxDatagram = 65535;

    /// <summary>What one datagram in progress holds (its payload buffer, as the pool hands it out).</summary>
    private const int EntryBytes = 65536;

    private readonly List<Entry> _entries = [];
    private readonly int _maxDatagrams;
    private readonly int _timeoutMs;
    private readonly StackCounters _counters;
    private readonly MemoryBudget _budget;
    private readonly byte[] _complete = new byte[MaxDatagram];

    public FragmentReassembler(int maxDatagrams, int timeoutMs, StackCounters counters, MemoryBudget budget)
    {
        _maxDatagrams = Math.Max(1, maxDatagrams);
        _timeoutMs = timeoutMs;
        _counters = counters;
        _budget = budget;
    }

    public int InProgress => _entries.Count;

    /// <summary>
    /// Adds one fragment. Returns <see cref="FragmentResult.Complete"/> with the whole datagram in
    /// <paramref name="datagram"/> (valid until the next call), <see cref="FragmentResult.Pending"/>
    /// while pieces are missing, or a reason to drop. A datagram evicted to make room is counted
    /// here (<see cref="FrameDropReason.FragmentLimit"/>).
    /// </summary>
    public FragmentResult Add(Ipv4Packet fragment, long nowMs, out Span<byte> datagram)
    {
        datagram = default;
        var offset = fragment.FragmentOffset;
        var payload = fragment.Payload;
        var end = offset + payload.Length;
        var last = !fragment.MoreFragments;

        // Every fragment but the last carries a multiple of 8 bytes (RFC 791). Only the first
        // piece's header becomes the datagram's; the others' headers are dropped, so a later
        // piece is bounded with the smallest header and the whole is checked again below.
        var headerLength = offset == 0 ? fragment.HeaderLength : Ipv4Packet.MinimumHeaderLength;
        if ((!last && (payload.Length & 7) != 0) || payload.Length == 0 || headerLength + end > MaxDatagram)
        {
            return FragmentResult.Malformed;
        }

        var entry = Find(fragment);
        if (entry is null)
        {
            entry = Open(fragment, nowMs);
            if (entry is null)
            {
                return FragmentResult.NoMemory;
            }
        }

        // The reassembled datagram is the first piece's header plus every payload byte up to the
        // highest end seen: it must fit 65535 bytes whatever order and header lengths the pieces
        // come in (a 60-byte first header with pieces up to byte 65515 would not).
        var wholeHeader = offset == 0 ? fragment.HeaderLength : entry.HeaderLength;
        if (wholeHeader + Math.Max(entry.HighestEnd, end) > MaxDatagram || !entry.Accept(offset, end, last))
        {
            Remove(entry);
            return FragmentResult.Malformed;
        }

        payload.CopyTo(entry.Payload.AsSpan(offset));
        if (offset == 0)
        {
            entry.SetHeader(fragment.Header);
        }

        if (!entry.IsComplete)
        {
            return FragmentResult.Pending;
        }

        var result = Assemble(entry, out datagram) ? FragmentResult.Complete : FragmentResult.Malformed;
        Remove(entry);
        return result;
    }

    /// <summary>A new datagram in progress: makes room (oldest first) in the table and in the budget.</summary>
    private Entry? Open(Ipv4Packet fragment, long nowMs)
    {
        if (_entries.Count >= _maxDatagrams)
        {
            EvictOldest();
        }

        while (!_budget.TryReserve(EntryBytes, MemoryUse.Transient))
        {
            if (_entries.Count == 0)
            {
                return null;
            }

            EvictOldest();
        }

        var entry = new Entry(fragment.Source, fragment.Destination, fragment.Protocol, fragment.Identification, nowMs + _timeoutMs);
        _entries.Add(entry);
        return entry;
    }

    private void EvictOldest()
    {
        // _entries is in arrival order: the first one has waited longest.
        Remove(_entries[0]);
        _counters.Drop(FrameDropReason.FragmentLimit);
    }

    /// <summary>When the oldest datagram in progress times out, or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline
    {
        get
        {
            var next = long.MaxValue;
            foreach (var entry in _entries)
            {
                next = Math.Min(next, entry.DeadlineMs);
            }

            return next;
        }
    }

    /// <summary>Drops datagrams whose time ran out; returns how many.</summary>
    public int Expire(long nowMs)
    {
        var dropped = 0;
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i].DeadlineMs <= nowMs)
            {
                Remove(_entries[i]);
                dropped++;
            }
        }

        return dropped;
    }

    public void Dispose()
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            Remove(_entries[i]);
        }
    }

    private bool Assemble(Entry entry, out Span<byte> datagram)
    {
        var header = entry.Header;
        var total = header.Length + entry.PayloadLength;
        datagram = default;
        if (total > _complete.Length)
        {
            return false; // Add bounds every piece; this only guards that invariant
        }

        header.CopyTo(_complete);
        entry.Payload.AsSpan(0, entry.PayloadLength).CopyTo(_complete.AsSpan(header.Length));
        var ip = Ipv4Packet.CreateUnchecked(_complete.AsSpan(0, total));

        // A whole datagram now: no fragment fields, the real length, a fresh header checksum.
        BinaryPrimitives.WriteUInt16BigEndian(_complete.AsSpan(2), (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(_complete.AsSpan(6), 0);
        ip.FillChecksum();
        datagram = _complete.AsSpan(0, total);
        return true;
    }

    private Entry? Find(Ipv4Packet fragment)
    {
        foreach (var e in _entries)
        {
            if (e.Identification == fragment.Identification && e.Source == fragment.Source &&
                e.Destination == fragment.Destination && e.Protocol == fragment.Protocol)
            {
                return e;
            }
        }

        return null;
    }

    private void Remove(Entry entry)
    {
        if (_entries.Remove(entry))
        {
            entry.Dispose();
            _budget.Release(EntryBytes);
        }
    }

    /// <summary>One datagram being reassembled: its payload buffer and which byte ranges arrived.</summary>
    private sealed class Entry(Ipv4Address source, Ipv4Address destination, byte protocol, ushort identification, long deadlineMs) : IDisposable
    {
        /// <summary>At most this many distinct pieces: a guest cannot make us track thousands of holes.</summary>
        private const int MaxPieces = 64;

        private readonly List<(int Start, int End)> _pieces = [];
        private byte[]? _header;
        private int _totalPayload = -1;

        public Ipv4Address Source { get; } = source;

        public Ipv4Address Destination { get; } = destination;

        public byte Protocol { get; } = protocol;

        public ushort Identification { get; } = identification;

        public long DeadlineMs { get; } = deadlineMs;

        public byte[] Payload { get; } = ArrayPool<byte>.Shared.Rent(MaxDatagram);

        public ReadOnlySpan<byte> Header => _header;

        public int PayloadLength => _totalPayload;

        /// <summary>The first piece's header length once it arrived, else the smallest possible.</summary>
        public int HeaderLength => _header?.Length ?? Ipv4Packet.MinimumHeaderLength;

        /// <summary>The end of the highest payload byte received so far.</summary>
        public int HighestEnd => _pieces.Count == 0 ? 0 : _pieces[^1].End;

        public bool IsComplete => _header is not null && _totalPayload >= 0 && _pieces.Count == 1 && _pieces[0] == (0, _totalPayload);

        public void SetHeader(ReadOnlySpan<byte> header) => _header = header.ToArray();

        /// <summary>Records bytes [start, end); false when the pieces contradict each other.</summary>
        public bool Accept(int start, int end, bool last)
        {
            if (last)
            {
                if (_totalPayload >= 0 && _totalPayload != end)
                {
                    return false;
                }

                _totalPayload = end;
            }

            if (_totalPayload >= 0 && end > _totalPayload)
            {
                return false;
            }

            // Merge into the sorted, non-adjacent list of received ranges (overlaps are allowed:
            // retransmitted pieces carry the same bytes).
            var i = 0;
            while (i < _pieces.Count && _pieces[i].End < start)
            {
                i++;
            }

            var (s, e) = (start, end);
            while (i < _pieces.Count && _pieces[i].Start <= e)
            {
                s = Math.Min(s, _pieces[i].Start);
                e = Math.Max(e, _pieces[i].End);
                _pieces.RemoveAt(i);
            }

            _pieces.Insert(i, (s, e));
            return _pieces.Count <= MaxPieces;
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(Payload);
    }
}

/// <summary>What <see cref="FragmentReassembler.Add"/> made of a fragment.</summary>
internal enum FragmentResult
{
    Pending,
    Complete,
    Malformed,

    /// <summary>The netdev's memory budget has no room even after evicting every datagram in progress.</summary>
    NoMemory,
}
