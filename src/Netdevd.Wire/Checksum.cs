using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// The internet checksum (RFC 1071): a ones'-complement sum of 16-bit big-endian words.
/// Sums are kept unfolded in a <see cref="uint"/> accumulator so that a pseudo-header, a header
/// and a payload in different spans can be added up without copying, then folded once.
/// </summary>
public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> as big-endian words (odd tail padded with a zero byte).</summary>
    public static uint Add(uint sum, ReadOnlySpan<byte> data)
    {
        // 64-bit accumulation of 32-bit words: carries cannot overflow for any frame size we see,
        // and it is several times faster than word-at-a-time; folding fixes the byte order sums.
        ulong acc = sum;
        var i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            acc += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        }

        if (i + 2 <= data.Length)
        {
            acc += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            i += 2;
        }

        if (i < data.Length)
        {
            acc += (ulong)data[i] << 8;
        }

        while ((acc >> 32) != 0)
        {
            acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
        }

        return (uint)acc;
    }

    /// <summary>Folds an accumulator to 16 bits (end-around carry), not complemented.</summary>
    public static ushort Fold(uint sum)
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
