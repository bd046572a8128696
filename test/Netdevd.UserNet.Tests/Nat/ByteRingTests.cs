using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>The send and receive rings of a TCP connection: where the host side may read into.</summary>
public sealed class ByteRingTests
{
    [Fact]
    public void Once_the_data_wrapped_the_free_space_is_offered_in_two_regions_that_one_read_fills()
    {
        using var ring = new ByteRing(100);
        ring.Write(new byte[70]);
        ring.Consume(50); // data at [50, 70): free after it up to the end, and before it from 0

        ring.WritableSegments(out var first, out var second);
        Assert.Equal((70, 30), (first.Offset, first.Count));
        Assert.Equal((0, 50), (second.Offset, second.Count));

        // A read that fills both regions (as readv does) commits in order.
        first.AsSpan().Fill(1);
        second.AsSpan().Fill(2);
        ring.Commit(first.Count + second.Count);
        Assert.Equal(100, ring.Count);
        ring.Peek(20, 80, out var a, out var b);
        Assert.True(a.ToArray().All(x => x == 1) && b.ToArray().All(x => x == 2));
        Assert.Equal((30, 50), (a.Length, b.Length));
    }

    [Theory]
    [InlineData(0, 0)]   // empty: everything from the start
    [InlineData(40, 0)]  // data at [0, 40): the rest up to the end
    [InlineData(100, 0)] // full: nothing
    [InlineData(100, 30)] // data at [30, 100): the free part before it, from 0
    public void Without_a_wrap_the_free_space_is_one_region(int written, int consumed)
    {
        using var ring = new ByteRing(100);
        ring.Write(new byte[written]);
        ring.Consume(consumed);

        ring.WritableSegments(out var first, out var second);
        Assert.Equal(ring.Free, first.Count);
        Assert.Equal(0, second.Count);
    }

    [Fact]
    public void Growing_a_wrapped_ring_keeps_its_data_in_order_and_adds_the_new_space_after_it()
    {
        using var ring = new ByteRing(100);
        var stream = Enumerable.Range(0, 130).Select(i => (byte)i).ToArray();
        ring.Write(stream.AsSpan(0, 100));
        ring.Consume(30);
        ring.Write(stream.AsSpan(100, 30)); // full, wrapped: [30, 100) then [0, 30)

        ring.Grow(256);

        Assert.Equal((256, 100, 156), (ring.Capacity, ring.Count, ring.Free));
        ring.Peek(0, 100, out var a, out var b);
        Assert.Equal(stream.AsSpan(30, 100).ToArray(), a.ToArray().Concat(b.ToArray()).ToArray());
        ring.WritableSegments(out var first, out var second);
        Assert.Equal((100, 156, 0), (first.Offset, first.Count, second.Count));
    }
}
