using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Tests.Nat;

public sealed class SegmentAssemblerTests
{
    [Fact]
    public void Ranges_merge_and_the_contiguous_prefix_is_taken()
    {
        var a = new SegmentAssembler();
        Assert.True(a.Add(10, 20));
        Assert.True(a.Add(30, 40));
        Assert.True(a.Add(18, 32));
        Assert.Equal(1, a.RangeCount);
        Assert.Equal(0, a.TakeContiguous());
        Assert.True(a.Add(0, 10));
        Assert.Equal(40, a.TakeContiguous());
        Assert.True(a.IsEmpty);
    }

    [Fact]
    public void At_most_eight_holes_are_tracked()
    {
        var a = new SegmentAssembler();
        for (var i = 0; i < SegmentAssembler.MaxRanges; i++)
        {
            Assert.True(a.Add((i * 10) + 5, (i * 10) + 8));
        }

        Assert.False(a.Add(200, 210));
        Assert.True(a.Add(0, 100)); // merging needs no new range
        Assert.Equal(100, a.TakeContiguous());
    }

    [Fact]
    public void Random_segments_reassemble_to_the_whole_stream()
    {
        var rng = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var a = new SegmentAssembler();
            var total = 0;
            var pieces = Enumerable.Range(0, 12).Select(i => (Start: i * 100, End: (i * 100) + 100)).OrderBy(_ => rng.Next()).ToList();
            foreach (var (start, end) in pieces)
            {
                if (!a.Add(start - total, end - total))
                {
                    continue; // dropped: would be retransmitted
                }

                total += a.TakeContiguous();
            }

            Assert.True(total <= 1200);
            Assert.True(a.RangeCount <= SegmentAssembler.MaxRanges);
        }
    }
}
