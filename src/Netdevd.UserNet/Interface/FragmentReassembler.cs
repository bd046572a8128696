using System.Buffers;
using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Interface;

/// <summary>
/// IPv4 and IPv6 reassembly (RFC 791/815, RFC 8200 4.5) for datagrams the guest sends in
/// fragments, e.g. UDP larger than its MTU. Bounded so that no guest can make the host hold much: a fixed number of datagrams in
/// progress (the oldest is evicted to make room for a new one, so a flood of pieces that never
/// complete cannot lock out the datagrams that do), each at most 65535 bytes with a limited number
/// of pieces, its buffer reserved from the netdev's <see cref="MemoryBudget"/>, dropped when it
/// does not complete in time. Single-threaded: the stack's owner serialises calls.
/// </summary>
internal sealed class FragmentReassembler : IDisposable
{
    /// <summary>The largest IPv4 datagram, header included.</summary>
    public const int MaxDatagram = 65535;

    /// <summary>The largest IPv6 datagram: the fixed header and a 65535-byte payload.</summary>
    public const int MaxIpv6Datagram = Ipv6Packet.HeaderLength + 65535;

    /// <summary>The payload buffer of one datagram in progress.</summary>
    private const int MaxFragmentable = 65535;

    /// <summary>What one datagram in progress holds (its payload buffer, as the pool hands it out).</summary>
    private const int EntryBytes = 65536;

    private readonly List<Entry> _entries = [];
    private readonly int _maxDatagrams;
    private readonly int _timeoutMs;
    private readonly StackCounters _counters;
    private readonly MemoryBudget _budget;
    private readonly byte[] _complete = new byte[MaxIpv6Datagram];

    public FragmentReassembler(int maxDatagrams, int timeoutMs, StackCounters counters, MemoryBudget budget)
    {
        _maxDatagrams = Math.Max(1, maxDatagrams);
        _timeoutMs = timeoutMs;
        _counters = counters;
        _budget = budget;
    }

    public int InProgress => _entries.Count;

    /// <summary>
    /// Adds one IPv4 fragment. Returns <see cref="FragmentResult.Complete"/> with the whole datagram in
    /// <paramref name="datagram"/> (valid until the next call), <see cref="FragmentResult.Pending"/>
    /// while pieces are missing, or a reason to drop. A datagram evicted to make room is counted
    /// here (<see cref="FrameDropReason.FragmentLimit"/>).
    /// </summary>
    public FragmentResult Add(Ipv4Packet fragment, long nowMs, out Span<byte> datagram)
    {
        // Only the first piece's header becomes the datagram's; the others' headers are dropped, so
        // a later piece is bounded with the smallest header and the whole is checked again.
        var key = new FragmentKey(Ipv6Address.FromIpv4Mapped(fragment.Source), Ipv6Address.FromIpv4Mapped(fragment.Destination), fragment.Identification, fragment.Protocol, false);
        return Add(key, fragment.Header, fragment.FragmentOffset == 0 ? fragment.HeaderLength : Ipv4Packet.MinimumHeaderLength,
            fragment.FragmentOffset, fragment.MoreFragments, fragment.Payload, -1, 0, MaxDatagram, nowMs, out datagram);
    }

    /// <summary>
    /// Adds one IPv6 fragment (RFC 8200 4.5) whose chain <paramref name="chain"/> stopped at its
    /// fragment header. The whole datagram keeps the first piece's unfragmentable part, with the
    /// fragment header removed and its next-header value moved into the header before it.
    /// </summary>
    public FragmentResult Add(Ipv6Packet fragment, Ipv6HeaderChain chain, long nowMs, out Span<byte> datagram)
    {
        datagram = default;
        var bytes = fragment.Bytes;
        if (!chain.IsFragment || !Ipv6FragmentHeader.TryCreate(bytes[chain.FragmentHeaderOffset..], out var header))
        {
            return FragmentResult.Malformed;
        }

        var unfragmentable = bytes[..chain.FragmentHeaderOffset];
        var key = new FragmentKey(fragment.Source, fragment.Destination, header.Identification, 0, true);
        return Add(key, unfragmentable, unfragmentable.Length, header.FragmentOffset, header.MoreFragments,
            bytes[(chain.FragmentHeaderOffset + Ipv6FragmentHeader.Length)..], chain.NextHeaderFieldOffset, header.NextHeader,
            MaxIpv6Datagram, nowMs, out datagram);
    }

    private FragmentResult Add(
        FragmentKey key,
        ReadOnlySpan<byte> header,
        int headerLength,
        int offset,
        bool more,
        ReadOnlySpan<byte> payload,
        int nextHeaderField,
        byte nextHeader,
        int maxDatagram,
        long nowMs,
        out Span<byte> datagram)
    {
        datagram = default;
        var end = offset + payload.Length;
        var last = !more;

        // Every fragment but the last carries a multiple of 8 bytes (RFC 791, RFC 8200 4.5).
        if ((!last && (payload.Length & 7) != 0) || payload.Length == 0 || headerLength + end > maxDatagram || end > MaxFragmentable)
        {
            return FragmentResult.Malformed;
        }

        var entry = Find(key);
        if (entry is null)
        {
            entry = Open(key, nowMs);
            if (entry is null)
            {
                return FragmentResult.NoMemory;
            }
        }

        // The reassembled datagram is the first piece's header plus every payload byte up to the
        // highest end seen: it must fit whatever order and header lengths the pieces come in (a
        // 60-byte first IPv4 header with pieces up to byte 65515 would not).
        var wholeHeader = offset == 0 ? headerLength : entry.HeaderLength;
        var piece = wholeHeader + Math.Max(entry.HighestEnd, end) > maxDatagram ? PieceResult.Refused : entry.Accept(offset, end, last);
        if (piece == PieceResult.Refused)
        {
            Remove(entry);
            return FragmentResult.Malformed;
        }

        if (piece == PieceResult.Duplicate)
        {
            return FragmentResult.Pending; // an IPv6 piece seen before: its bytes are already in place
        }

        payload.CopyTo(entry.Payload.AsSpan(offset));
        if (offset == 0)
        {
            entry.SetHeader(header, nextHeaderField, nextHeader);
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
    private Entry? Open(FragmentKey key, long nowMs)
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

        var entry = new Entry(key, nowMs + _timeoutMs);
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
        if (entry.Key.IsIpv6)
        {
            // The fragment header is gone: the header before it now names what followed it.
            _complete[entry.NextHeaderField] = entry.NextHeader;
            BinaryPrimitives.WriteUInt16BigEndian(_complete.AsSpan(4), (ushort)(total - Ipv6Packet.HeaderLength));
        }
        else
        {
            // A whole datagram now: no fragment fields, the real length, a fresh header checksum.
            BinaryPrimitives.WriteUInt16BigEndian(_complete.AsSpan(2), (ushort)total);
            BinaryPrimitives.WriteUInt16BigEndian(_complete.AsSpan(6), 0);
            Ipv4Packet.CreateUnchecked(_complete.AsSpan(0, total)).FillChecksum();
        }

        datagram = _complete.AsSpan(0, total);
        return true;
    }

    private Entry? Find(FragmentKey key)
    {
        foreach (var e in _entries)
        {
            if (e.Key == key)
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
    private sealed class Entry(FragmentKey key, long deadlineMs) : IDisposable
    {
        /// <summary>
        /// At most this many distinct pieces: a guest cannot make us track thousands of holes. IPv6
        /// pieces are not merged; 64 of the 1232 bytes a 1280-byte link carries hold any datagram.
        /// </summary>
        private const int MaxPieces = 64;

        private readonly List<(int Start, int End)> _pieces = [];
        private byte[]? _header;
        private int _totalPayload = -1;

        /// <summary>IPv6: the payload bytes the (disjoint) pieces hold together.</summary>
        private int _covered;

        public FragmentKey Key { get; } = key;

        /// <summary>IPv6: where the next-header byte to patch is, and its value.</summary>
        public int NextHeaderField { get; private set; }

        public byte NextHeader { get; private set; }

        public long DeadlineMs { get; } = deadlineMs;

        public byte[] Payload { get; } = ArrayPool<byte>.Shared.Rent(MaxFragmentable);

        public ReadOnlySpan<byte> Header => _header;

        public int PayloadLength => _totalPayload;

        /// <summary>The first piece's header length once it arrived, else the smallest possible.</summary>
        public int HeaderLength => _header?.Length ?? (Key.IsIpv6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinimumHeaderLength);

        /// <summary>The end of the highest payload byte received so far.</summary>
        public int HighestEnd => _pieces.Count == 0 ? 0 : _pieces[^1].End;

        public bool IsComplete => _header is not null && _totalPayload >= 0 &&
                                  (Key.IsIpv6 ? _covered == _totalPayload : _pieces.Count == 1 && _pieces[0] == (0, _totalPayload));

        public void SetHeader(ReadOnlySpan<byte> header, int nextHeaderField, byte nextHeader)
        {
            _header = header.ToArray();
            NextHeaderField = nextHeaderField;
            NextHeader = nextHeader;
        }

        /// <summary>Records bytes [start, end): refused when the pieces contradict each other.</summary>
        public PieceResult Accept(int start, int end, bool last)
        {
            if (last)
            {
                // A last piece ending before bytes already received contradicts them (IPv6 would
                // otherwise count those bytes towards a total they lie beyond).
                if ((_totalPayload >= 0 && _totalPayload != end) || HighestEnd > end)
                {
                    return PieceResult.Refused;
                }

                _totalPayload = end;
            }

            if (_totalPayload >= 0 && end > _totalPayload)
            {
                return PieceResult.Refused;
            }

            if (Key.IsIpv6)
            {
                return AcceptIpv6(start, end);
            }

            // IPv4 (RFC 791 allows overlaps): merge into the sorted, non-adjacent list of received
            // ranges (retransmitted pieces carry the same bytes).
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
            return _pieces.Count <= MaxPieces ? PieceResult.Accepted : PieceResult.Refused;
        }

        /// <summary>
        /// RFC 8200 4.5 (RFC 5722): a piece that overlaps another abandons the whole datagram
        /// (overlaps are how a sender makes one receiver see other bytes than the next); an exact
        /// duplicate of a piece is dropped alone. The pieces are kept as they came, not merged, so
        /// a duplicate can be told from an overlap.
        /// </summary>
        private PieceResult AcceptIpv6(int start, int end)
        {
            var i = 0;
            while (i < _pieces.Count && _pieces[i].End <= start)
            {
                i++;
            }

            if (i < _pieces.Count && _pieces[i].Start < end)
            {
                return _pieces[i] == (start, end) ? PieceResult.Duplicate : PieceResult.Refused;
            }

            _pieces.Insert(i, (start, end));
            _covered += end - start;
            return _pieces.Count <= MaxPieces ? PieceResult.Accepted : PieceResult.Refused;
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

/// <summary>What the reassembler made of one piece of a datagram in progress.</summary>
internal enum PieceResult
{
    Accepted,

    /// <summary>An IPv6 piece received before, byte range for byte range: dropped, the datagram goes on.</summary>
    Duplicate,

    /// <summary>The pieces contradict each other, overlap (IPv6) or are too many: the datagram is dropped.</summary>
    Refused,
}

/// <summary>What identifies one fragmented datagram (IPv4 addresses as IPv4-mapped; protocol 0 for IPv6, whose key has none).</summary>
internal readonly record struct FragmentKey(Ipv6Address Source, Ipv6Address Destination, uint Identification, byte Protocol, bool IsIpv6);
