using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Netdevd.Backends.VirtioNet;

/// <summary>RFC 1071 ones'-complement sums, accumulated in 64 bits and folded at the end.</summary>
public static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> (big-endian 16-bit words, odd byte padded) to <paramref name="sum"/>.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        // The bulk in vectors: every byte of a 64 KiB frame is summed on the data path (checksum
        // completion, segmentation, GRO's verification), so this is worth a wide loop.
        if (Vector256.IsHardwareAccelerated && data.Length >= 2 * Vector256<byte>.Count)
        {
            var bulk = data.Length & ~(Vector256<byte>.Count - 1);
            sum += SwapBytes(Fold(AddNativeWords(data[..bulk])));
            data = data[bulk..];
        }

        // Eight bytes at a time: the carries land in the upper half and fold out later.
        while (data.Length >= 8)
        {
            var v = BinaryPrimitives.ReadUInt64BigEndian(data);
            sum += (v >> 32) + (v & 0xffffffff);
            data = data[8..];
        }

        while (data.Length >= 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data);
            data = data[2..];
        }

        if (data.Length == 1)
        {
            sum += (ulong)data[0] << 8;
        }

        return sum;
    }

    public static ulong Add(ulong sum, ushort word) => sum + word;

    /// <summary>
    /// The sum of <paramref name="data"/> (a whole number of vectors) as little-endian words.
    /// The ones'-complement sum is byte-order independent (RFC 1071 §2(B)): folding it and
    /// swapping its bytes gives the big-endian sum.
    /// </summary>
    private static ulong AddNativeWords(ReadOnlySpan<byte> data)
    {
        // Each 32-bit lane takes one 16-bit word per vector: 16384 vectors stay below 2^30.
        const int VectorsPerRound = 16384;
        ref var start = ref MemoryMarshal.GetReference(data);
        var step = Vector256<byte>.Count;
        ulong total = 0;
        var i = 0;
        while (i < data.Length)
        {
            var end = Math.Min(data.Length, i + (VectorsPerRound * step));
            var low = Vector256<uint>.Zero;
            var high = Vector256<uint>.Zero;
            for (; i < end; i += step)
            {
                var (l, h) = Vector256.Widen(Vector256.LoadUnsafe(ref start, (nuint)i).AsUInt16());
                low += l;
                high += h;
            }

            var (a, b) = Vector256.Widen(low);
            var (c, d) = Vector256.Widen(high);
            total += Vector256.Sum(a + b + c + d);
        }

        return total;
    }

    private static ushort SwapBytes(ushort value) => BinaryPrimitives.ReverseEndianness(value);

    /// <summary>Folds to 16 bits (not complemented).</summary>
    public static ushort Fold(ulong sum)
    {
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)sum;
    }

    /// <summary>The checksum field value: the complement of the folded sum.</summary>
    public static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>The pseudo-header sum of a transport segment (RFC 793 / RFC 8200 §8.1).</summary>
    public static ulong PseudoHeader(ReadOnlySpan<byte> ipHeader, bool ipv6, byte protocol, int transportLength)
    {
        ulong sum = 0;
        sum = ipv6 ? Add(sum, ipHeader.Slice(8, 32)) : Add(sum, ipHeader.Slice(12, 8));
        sum += protocol;
        sum += (uint)transportLength;
        return sum;
    }
}
