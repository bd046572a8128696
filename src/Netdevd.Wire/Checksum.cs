using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Netdevd.Wire;

/// <summary>
/// The internet checksum (RFC 1071): a ones'-complement sum of 16-bit big-endian words, the one
/// implementation for every layer (the user stack's views and the tap's offload and GRO code).
/// Sums are kept unfolded in a <see cref="uint"/> accumulator so that a pseudo-header, a header
/// and a payload in different spans can be added up without copying, then folded once.
/// </summary>
public static class Checksum
{
    /// <summary>
    /// Adds <paramref name="data"/> as big-endian words (odd tail padded with a zero byte). The
    /// result is reduced to at most 0x10001, so a caller may add more words to it without overflow.
    /// </summary>
    public static uint Add(uint sum, ReadOnlySpan<byte> data)
    {
        ulong acc = sum;

        // The bulk in vectors: every byte of a 64 KiB frame is summed on the tap's data path
        // (checksum completion, segmentation, GRO's verification), so this is worth a wide loop.
        if (Vector256.IsHardwareAccelerated && data.Length >= 2 * Vector256<byte>.Count)
        {
            var bulk = data.Length & ~(Vector256<byte>.Count - 1);
            acc += BinaryPrimitives.ReverseEndianness(Fold(AddNativeWords(data[..bulk])));
            data = data[bulk..];
        }

        // Eight bytes at a time into 64 bits: the carries land in the upper half and fold out.
        while (data.Length >= 8)
        {
            var v = BinaryPrimitives.ReadUInt64BigEndian(data);
            acc += (v >> 32) + (v & 0xFFFF_FFFF);
            data = data[8..];
        }

        if (data.Length >= 4)
        {
            acc += BinaryPrimitives.ReadUInt32BigEndian(data);
            data = data[4..];
        }

        if (data.Length >= 2)
        {
            acc += BinaryPrimitives.ReadUInt16BigEndian(data);
            data = data[2..];
        }

        if (data.Length == 1)
        {
            acc += (ulong)data[0] << 8;
        }

        // Three end-around folds without a loop: at most 0x10001, ones'-complement equal to acc.
        acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
        acc = (acc & 0xFFFF) + (acc >> 16);
        return (uint)((acc & 0xFFFF) + (acc >> 16));
    }

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

    /// <summary>Folds an accumulator to 16 bits (end-around carry), not complemented.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }

    /// <summary>The checksum field value: the complement of the folded sum.</summary>
    public static ushort Finish(uint sum) => (ushort)~Fold(sum);

    /// <summary>The checksum of one span (e.g. an IPv4 header with its checksum field zeroed).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>True when data that includes its checksum field sums to 0xFFFF (RFC 1071 verification).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsValid(ReadOnlySpan<byte> data) => Fold(Add(0, data)) == 0xFFFF;

    /// <summary>The sum of the IPv4 pseudo-header (RFC 793/768): addresses, protocol, upper-layer length.</summary>
    public static uint PseudoHeader(Ipv4Address source, Ipv4Address destination, byte protocol, int length)
    {
        ulong acc = (source.Value >> 16) + (source.Value & 0xFFFF) +
                    (destination.Value >> 16) + (destination.Value & 0xFFFF) +
                    protocol + (uint)(length & 0xFFFF) + (uint)(length >> 16);
        while ((acc >> 32) != 0)
        {
            acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
        }

        return (uint)acc;
    }

    /// <summary>
    /// The sum of the IPv6 pseudo-header (RFC 8200 8.1): addresses, the 32-bit upper-layer length
    /// and the upper-layer protocol (the last next-header value, not the first).
    /// </summary>
    public static uint PseudoHeader(Ipv6Address source, Ipv6Address destination, byte nextHeader, int length)
    {
        ulong acc = Words(source.High) + Words(source.Low) + Words(destination.High) + Words(destination.Low) +
                    (uint)(length & 0xFFFF) + ((uint)length >> 16) + nextHeader;
        while ((acc >> 32) != 0)
        {
            acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
        }

        return (uint)acc;
    }

    /// <summary>
    /// RFC 1624 eqn. 3: the new checksum after one 16-bit word changed from <paramref name="oldWord"/>
    /// to <paramref name="newWord"/>, HC' = ~(~HC + ~m + m'), without touching the rest of the data.
    /// </summary>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
    {
        var sum = (uint)(ushort)~checksum + (ushort)~oldWord + newWord;
        return (ushort)~Fold(sum);
    }

    /// <summary>RFC 1624 update for a 32-bit field (an address or a sequence number) changing.</summary>
    public static ushort Update(ushort checksum, uint oldValue, uint newValue)
    {
        var sum = (uint)(ushort)~checksum +
                  (ushort)~(ushort)(oldValue >> 16) + (ushort)~(ushort)oldValue +
                  (ushort)(newValue >> 16) + (ushort)newValue;
        return (ushort)~Fold(sum);
    }

    /// <summary>The four 16-bit words of a 64-bit value, added (at most 4 * 0xFFFF, no overflow).</summary>
    private static ulong Words(ulong v) => (v >> 48) + ((v >> 32) & 0xFFFF) + ((v >> 16) & 0xFFFF) + (v & 0xFFFF);
}
