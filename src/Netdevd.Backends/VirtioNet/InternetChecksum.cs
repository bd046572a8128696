using System.Buffers.Binary;

namespace Netdevd.Backends.VirtioNet;

/// <summary>RFC 1071 ones'-complement sums, accumulated in 64 bits and folded at the end.</summary>
public static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> (big-endian 16-bit words, odd byte padded) to <paramref name="sum"/>.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
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
