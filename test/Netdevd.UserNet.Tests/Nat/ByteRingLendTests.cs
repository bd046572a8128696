using System.Buffers;
using Netdevd.UserNet.Nat;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// A send ring whose bytes were lent to frames still queued never gives its array back to the
/// shared pool (another flow could rent it and write over them before the frames go out); a ring
/// that lent nothing (its segments only copied during the call) does, as before.
/// </summary>
public sealed class ByteRingLendTests
{
    private const int Capacity = 1 << 16;

    [Fact]
    public void A_lent_array_is_not_pooled_again_after_dispose_or_grow()
    {
        var ring = new ByteRing(Capacity);
        ring.Write(new byte[100]);
        ring.PeekSegments(0, 100, out var lent, out _);
        ring.MarkLent();
        ring.Grow(Capacity * 2);
        Assert.DoesNotContain(RentSome(Capacity), a => ReferenceEquals(a, lent.Array));

        ring.PeekSegments(0, 100, out var lentAfterGrow, out _);
        ring.MarkLent();
        Assert.NotSame(lent.Array, lentAfterGrow.Array);
        ring.Dispose();
        Assert.DoesNotContain(RentSome(Capacity * 2), a => ReferenceEquals(a, lentAfterGrow.Array));
    }

    [Fact]
    public void An_array_only_peeked_goes_back_to_the_pool()
    {
        var ring = new ByteRing(Capacity);
        ring.Write(new byte[100]);
        ring.PeekSegments(0, 100, out _, out _);
        var array = ring.WritableSegment().Array;
        ring.Dispose();
        Assert.Contains(RentSome(Capacity), a => ReferenceEquals(a, array));
    }

    [Fact]
    public void Lent_segments_follow_the_wrap()
    {
        using var ring = new ByteRing(16);
        ring.Write(new byte[12]);
        ring.Consume(10);
        ring.Write([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        ring.PeekSegments(2, 10, out var first, out var second);
        Assert.Equal([1, 2, 3, 4], first.AsSpan().ToArray());
        Assert.Equal([5, 6, 7, 8, 9, 10], second.AsSpan().ToArray());
    }

    /// <summary>What the pool hands out on this thread for <paramref name="length"/> now (given back afterwards).</summary>
    private static List<byte[]> RentSome(int length)
    {
        var rented = new List<byte[]>();
        for (var i = 0; i < 4; i++)
        {
            rented.Add(ArrayPool<byte>.Shared.Rent(length));
        }

        foreach (var a in rented)
        {
            ArrayPool<byte>.Shared.Return(a);
        }

        return rented;
    }
}
