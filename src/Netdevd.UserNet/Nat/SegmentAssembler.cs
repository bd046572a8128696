namespace Netdevd.UserNet.Nat;

/// <summary>
/// Tracks which byte ranges past the receive point have arrived (smoltcp's Assembler): offsets are
/// relative to RCV.NXT. At most <see cref="MaxRanges"/> disjoint ranges are kept, so a guest that
/// sends scattered segments costs bounded memory; a segment that would need more is dropped and
/// the guest retransmits it.
/// </summary>
internal sealed class SegmentAssembler
{
    public const int MaxRanges = 8;

    private readonly int[] _start = new int[MaxRanges];
    private readonly int[] _end = new int[MaxRanges];
    private int _count;

    public int RangeCount => _count;

    public bool IsEmpty => _count == 0;

    /// <summary>Records [start, end); false (nothing recorded) when it would need a ninth range.</summary>
    public bool Add(int start, int end)
    {
        if (end <= start)
        {
            return true;
        }

        // Find the first range that ends at or after start (ranges are sorted and disjoint).
        var i = 0;
        while (i < _count && _end[i] < start)
        {
            i++;
        }

        if (i == _count || _start[i] > end)
        {
            // No overlap: insert a new range at i.
            if (_count == MaxRanges)
            {
                return false;
            }

            Array.Copy(_start, i, _start, i + 1, _count - i);
            Array.Copy(_end, i, _end, i + 1, _count - i);
            _start[i] = start;
            _end[i] = end;
            _count++;
            return true;
        }

        // Merge with range i and every later range the new one reaches.
        _start[i] = Math.Min(_start[i], start);
        var j = i;
        while (j + 1 < _count && _start[j + 1] <= end)
        {
            j++;
        }

        _end[i] = Math.Max(end, _end[j]);
        var removed = j - i;
        if (removed > 0)
        {
            Array.Copy(_start, j + 1, _start, i + 1, _count - j - 1);
            Array.Copy(_end, j + 1, _end, i + 1, _count - j - 1);
            _count -= removed;
        }

        return true;
    }

    /// <summary>Removes and returns the length of the range starting at 0, shifting the rest down by it.</summary>
    public int TakeContiguous()
    {
        if (_count == 0 || _start[0] != 0)
        {
            return 0;
        }

        var n = _end[0];
        Array.Copy(_start, 1, _start, 0, _count - 1);
        Array.Copy(_end, 1, _end, 0, _count - 1);
        _count--;
        for (var k = 0; k < _count; k++)
        {
            _start[k] -= n;
            _end[k] -= n;
        }

        return n;
    }

    public void Clear() => _count = 0;
}
