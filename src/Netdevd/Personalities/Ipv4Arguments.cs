using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Netdevd.Personalities;

/// <summary>The IPv4 values the personalities' command lines take: addresses, netmasks, network arithmetic.</summary>
internal static class Ipv4Arguments
{
    public static IPAddress Address(string program, string option, string value) =>
        IPAddress.TryParse(value, out var a) && a.AddressFamily == AddressFamily.InterNetwork
            ? a
            : throw new PersonalityUsageException($"{program}: {option} {value}: netdevd's {program} takes an IPv4 address here");

    /// <summary>A prefix length (1-30) or, when <paramref name="dotted"/>, also a contiguous dotted netmask.</summary>
    public static int PrefixLength(string program, string value, bool dotted)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length is >= 1 and <= 30)
        {
            return length;
        }

        if (dotted && IPAddress.TryParse(value, out var mask) && mask.AddressFamily == AddressFamily.InterNetwork)
        {
            var bits = ToUInt32(mask);
            var ones = System.Numerics.BitOperations.PopCount(bits);
            if (ones is >= 1 and <= 30 && bits == uint.MaxValue << (32 - ones))
            {
                return ones;
            }
        }

        throw new PersonalityUsageException(dotted
            ? $"{program}: --netmask {value}: not a netmask or prefix length (1-30)"
            : $"{program}: --netmask {value}: a prefix length (1-30)");
    }

    /// <summary>The network of <paramref name="address"/> (/<paramref name="prefix"/>) plus <paramref name="offset"/>.</summary>
    public static IPAddress InNetwork(IPAddress address, int prefix, uint offset) =>
        FromUInt32((ToUInt32(address) & (prefix == 0 ? 0 : uint.MaxValue << (32 - prefix))) + offset);

    public static uint ToUInt32(IPAddress address)
    {
        Span<byte> b = stackalloc byte[4];
        _ = address.TryWriteBytes(b, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b);
    }

    public static IPAddress FromUInt32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return new IPAddress(b);
    }
}
