using System.Net;
using System.Net.Sockets;

namespace Netdevd.Personalities;

/// <summary>
/// glibc's inet_pton, which passt and pasta parse their addresses with: IPv4 only as four decimal
/// parts (no inet_aton shorthand such as "10.2" or hex, which <see cref="IPAddress.TryParse(string?, out IPAddress?)"/>
/// takes), IPv6 without a zone or brackets.
/// </summary>
internal static class InetPton
{
    public static bool TryParse4(string text, out IPAddress address)
    {
        address = IPAddress.None;
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            var part = parts[i];
            // glibc's inet_pton4: one to three digits, no leading zero, at most 255.
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit))
            {
                return false;
            }

            var value = int.Parse(part, System.Globalization.CultureInfo.InvariantCulture);
            if (value > 255)
            {
                return false;
            }

            bytes[i] = (byte)value;
        }

        address = new IPAddress(bytes);
        return true;
    }

    public static bool TryParse6(string text, out IPAddress address)
    {
        address = IPAddress.IPv6None;
        if (!text.Contains(':', StringComparison.Ordinal) || text.AsSpan().IndexOfAny("%[]/ ") >= 0 ||
            !IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        address = parsed;
        return true;
    }

    /// <summary>An IPv6 address that is not an IPv4-mapped one (::ffff:a.b.c.d binds and forwards as IPv4).</summary>
    public static bool IsIpv6(IPAddress a) => a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv4MappedToIPv6;

    public static bool IsUnspecified(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    public static bool IsLoopback(IPAddress a) => IPAddress.IsLoopback(a) && !a.IsIPv4MappedToIPv6;

    public static bool IsBroadcast4(IPAddress a) => a.Equals(IPAddress.Broadcast);

    public static bool IsMulticast(IPAddress a) => a.AddressFamily == AddressFamily.InterNetworkV6
        ? a.IsIPv6Multicast
        : (a.GetAddressBytes()[0] & 0xF0) == 0xE0;

    /// <summary>IN6_IS_ADDR_V4COMPAT: ::a.b.c.d, the first 96 bits zero and the last 32 neither 0 nor 1.</summary>
    public static bool IsV4Compatible(IPAddress a)
    {
        var b = a.GetAddressBytes();
        if (b.AsSpan(0, 12).ContainsAnyExcept((byte)0))
        {
            return false;
        }

        var last = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(12));
        return last > 1;
    }
}
