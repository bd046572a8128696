using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

public sealed class ChecksumTests
{
    /// <summary>The classic RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2.</summary>
    [Fact]
    public void Rfc1071_example()
    {
        var data = Bytes.Hex("0001f203f4f5f6f7");
        Assert.Equal(0xDDF2, Checksum.Fold(Checksum.Add(0, data)));
        Assert.Equal(0x220D, Checksum.Compute(data));
    }

    [Fact]
    public void Odd_length_pads_with_zero()
    {
        Assert.Equal(Checksum.Compute(Bytes.Hex("abcdef00")), Checksum.Compute(Bytes.Hex("abcdef")));
    }

    /// <summary>Property: our sum equals a naive 16-bit reference, for random data of every small length.</summary>
    [Fact]
    public void Matches_naive_reference_on_random_data()
    {
        var rng = new Random(1071);
        for (var len = 0; len < 300; len++)
        {
            var data = new byte[len];
            rng.NextBytes(data);
            Assert.Equal(Naive(data), Checksum.Compute(data));
        }
    }

    /// <summary>
    /// Lengths around every boundary of the vector loop (two 32-byte vectors are its minimum, the
    /// bulk is whole vectors, the tail goes 8, 4, 2, 1 bytes at a time), at every alignment
    /// within a vector and from a non-zero running sum, against a word-by-word reference.
    /// </summary>
    [Fact]
    public void Vector_and_scalar_paths_match_the_reference_at_every_boundary()
    {
        var rng = new Random(256);
        var data = new byte[70_000];
        rng.NextBytes(data);
        var lengths = new List<int>();
        for (var len = 0; len <= 200; len++)
        {
            lengths.Add(len);
        }

        lengths.AddRange([1499, 1500, 1501, 1514, 4095, 4096, 4097, 9000, 65535, 65536, 65537, 69_000]);
        foreach (var length in lengths)
        {
            foreach (var offset in new[] { 0, 1, 2, 3, 7, 31 })
            {
                var span = data.AsSpan(offset, length);
                var start = (uint)rng.Next(0, 0x10000);
                Assert.Equal(Naive(span, start), Checksum.Fold(Checksum.Add(start, span)));
            }
        }
    }

    /// <summary>
    /// All-ones data is the worst case for the vector lanes' carries: a buffer longer than one
    /// round of lane accumulation (16384 vectors, 512 KiB), and lengths on either side of a round.
    /// </summary>
    [Fact]
    public void Long_all_ones_buffers_do_not_lose_carries()
    {
        var ones = new byte[600_001];
        ones.AsSpan().Fill(0xFF);
        foreach (var length in new[] { 524_256, 524_287, 524_288, 524_289, 524_320, 600_000, 600_001 })
        {
            var span = ones.AsSpan(0, length);
            Assert.Equal(Naive(span, 0x1234), Checksum.Fold(Checksum.Add(0x1234, span)));
        }
    }

    /// <summary>The result of Add is reduced, so words added to it by hand (a pseudo-header) cannot overflow.</summary>
    [Fact]
    public void Add_leaves_room_for_more_words()
    {
        var ones = new byte[4096];
        ones.AsSpan().Fill(0xFF);
        Assert.True(Checksum.Add(uint.MaxValue, ones) <= 0x10001);
    }

    /// <summary>Property: chaining spans (even-length heads) equals summing the whole.</summary>
    [Fact]
    public void Chained_spans_equal_whole()
    {
        var rng = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var data = new byte[rng.Next(2, 200)];
            rng.NextBytes(data);
            var cut = rng.Next(0, data.Length / 2) * 2;
            var chained = Checksum.Finish(Checksum.Add(Checksum.Add(0, data.AsSpan(0, cut)), data.AsSpan(cut)));
            Assert.Equal(Checksum.Compute(data), chained);
        }
    }

    /// <summary>Property: RFC 1624 incremental update equals recomputation after changing a word or a 32-bit field.</summary>
    [Fact]
    public void Incremental_update_equals_recompute()
    {
        var rng = new Random(1624);
        for (var i = 0; i < 500; i++)
        {
            var data = new byte[rng.Next(4, 64) & ~1];
            rng.NextBytes(data);
            var before = Checksum.Compute(data);
            var at = rng.Next(0, (data.Length / 2) - 1) * 2;
            if (i % 2 == 0)
            {
                var old = (ushort)((data[at] << 8) | data[at + 1]);
                var nw = (ushort)rng.Next(0, 65536);
                data[at] = (byte)(nw >> 8);
                data[at + 1] = (byte)nw;
                Assert.Equal(Checksum.Compute(data), Checksum.Update(before, old, nw));
            }
            else if (at + 4 <= data.Length)
            {
                var old = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
                var nw = (uint)rng.NextInt64(0, 1L << 32);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), nw);
                var expected = Checksum.Compute(data);
                var updated = Checksum.Update(before, old, nw);

                // 0x0000 and 0xFFFF are the same ones'-complement number; RFC 1624 may yield either.
                Assert.True(expected == updated || (expected is 0 or 0xFFFF && updated is 0 or 0xFFFF), $"{expected:x4} {updated:x4}");
            }
        }
    }

    [Fact]
    public void Pseudo_header_matches_explicit_bytes()
    {
        var src = Ipv4Address.Create(10, 0, 2, 15);
        var dst = Ipv4Address.Create(10, 0, 2, 3);
        var explicitHeader = Bytes.Hex("0a00020f0a0002030011000d");
        Assert.Equal(Checksum.Fold(Checksum.Add(0, explicitHeader)), Checksum.Fold(Checksum.PseudoHeader(src, dst, 17, 13)));
    }

    private static ushort Naive(byte[] data) => (ushort)~Naive(data, 0);

    /// <summary>Word by word, folding after every word: the folded (not complemented) sum.</summary>
    private static ushort Naive(ReadOnlySpan<byte> data, uint start)
    {
        var sum = (start & 0xFFFF) + (start >> 16);
        for (var i = 0; i < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0));
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)((sum & 0xFFFF) + (sum >> 16));
    }
}
