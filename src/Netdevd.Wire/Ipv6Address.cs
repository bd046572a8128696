using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Netdevd.Wire;

/// <summary>
/// An IPv6 address as two host-order halves (the first eight octets in <see cref="High"/>), so it
/// is a plain 16-byte value that compares, hashes and masks without an array; bytes on the wire
/// are big-endian.
/// </summary>
public readonly record struct Ipv6Address(ulong High, ulong Low)
{
    public const int Length = 16;

    public static Ipv6Address Unspecified { get; } = default;

    public static Ipv6Address Loopback { get; } = new(0, 1);

    /// <summary>ff02::1, every node on the link.</summary>
    public static Ipv6Address AllNodes { get; } = new(0xFF02_0000_0000_0000UL, 1);

    /// <summary>ff02::2, every router on the link.</summary>
    public static Ipv6Address AllRouters { get; } = new(0xFF02_0000_0000_0000UL, 2);

    /// <summary>ff02::1:2, All_DHCP_Relay_Agents_and_Servers (RFC 8415).</summary>
    public static Ipv6Address AllDhcpServers { get; } = new(0xFF02_0000_0000_0000UL, 0x1_0002UL);

    public bool IsUnspecified => High == 0 && Low == 0;

    public bool IsLoopback => High == 0 && Low == 1;

    /// <summary>ff00::/8.</summary>
    public bool IsMulticast => (High >> 56) == 0xFF;

    /// <summary>fe80::/10.</summary>
    public bool IsLinkLocal => (High >> 54) == (0xFE80UL >> 6);

    /// <summary>::ffff:0:0/96, an IPv4 address seen through an IPv6 socket.</summary>
    public bool IsIpv4Mapped => High == 0 && (Low >> 32) == 0xFFFF;

    /// <summary>ff02::1:ff00:0/104 (RFC 4291 2.7.1).</summary>
    public bool IsSolicitedNodeMulticast => High == 0xFF02_0000_0000_0000UL && (Low >> 24) == 0x1_FFUL;

    /// <summary>Reads sixteen big-endian octets; the span must hold at least <see cref="Length"/> bytes.</summary>
    public static Ipv6Address Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    /// <summary>Octet <paramref name="index"/> (0..15) as on the wire.</summary>
    public byte this[int index] => (byte)((index < 8 ? High >> (56 - (8 * index)) : Low >> (56 - (8 * (index - 8)))) & 0xFF);

    /// <summary>The first <paramref name="prefixLength"/> bits kept, the rest zero (0..128).</summary>
    public Ipv6Address Prefix(int prefixLength)
    {
        var (maskHigh, maskLow) = Mask(prefixLength);
        return new Ipv6Address(High & maskHigh, Low & maskLow);
    }

    /// <summary>The bits after the first <paramref name="prefixLength"/> (the interface identifier part).</summary>
    public Ipv6Address InterfaceIdentifier(int prefixLength)
    {
        var (maskHigh, maskLow) = Mask(prefixLength);
        return new Ipv6Address(High & ~maskHigh, Low & ~maskLow);
    }

    /// <summary>Whether the first <paramref name="prefixLength"/> bits equal those of <paramref name="prefix"/>.</summary>
    public bool IsInPrefix(Ipv6Address prefix, int prefixLength) => Prefix(prefixLength) == prefix.Prefix(prefixLength);

    /// <summary><paramref name="prefix"/>'s first bits with this address's remaining bits (libslirp's net and machine parts).</summary>
    public Ipv6Address WithPrefix(Ipv6Address prefix, int prefixLength)
    {
        var (maskHigh, maskLow) = Mask(prefixLength);
        return new Ipv6Address((prefix.High & maskHigh) | (High & ~maskHigh), (prefix.Low & maskLow) | (Low & ~maskLow));
    }

    /// <summary>The solicited-node multicast group of this address: ff02::1:ff and its last 24 bits.</summary>
    public Ipv6Address SolicitedNodeMulticast => new(0xFF02_0000_0000_0000UL, 0x1_FF00_0000UL | (Low & 0xFF_FFFF));

    /// <summary>The Ethernet group address of a multicast address (RFC 2464 7): 33:33 and its last 32 bits.</summary>
    public MacAddress MulticastMac => MacAddress.FromValue(0x3333_0000_0000UL | (Low & 0xFFFF_FFFF));

    public static Ipv6Address FromIpv4Mapped(Ipv4Address address) => new(0, 0xFFFF_0000_0000UL | address.Value);

    public Ipv4Address ToIpv4Mapped() => new((uint)Low);

    /// <summary>Parses any RFC 4291 text form (no zone index, no prefix length).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Ipv6Address address)
    {
        address = default;
        if (text is null || text.Contains('%', StringComparison.Ordinal) || !text.Contains(':', StringComparison.Ordinal) ||
            !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        address = FromIPAddress(ip);
        return true;
    }

    public static Ipv6Address FromIPAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> b = stackalloc byte[Length];
        if (!address.TryWriteBytes(b, out var n) || n != Length)
        {
            throw new ArgumentException("not an IPv6 address", nameof(address));
        }

        return Read(b);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[Length];
        WriteTo(b);
        return new IPAddress(b);
    }

    /// <summary>RFC 5952 text (lower case, longest zero run compressed).</summary>
    public override string ToString() => ToIPAddress().ToString();

    private static (ulong High, ulong Low) Mask(int prefixLength) => prefixLength switch
    {
        <= 0 => (0, 0),
        < 64 => (~(ulong.MaxValue >> prefixLength), 0),
        64 => (ulong.MaxValue, 0),
        < 128 => (ulong.MaxValue, ~(ulong.MaxValue >> (prefixLength - 64))),
        _ => (ulong.MaxValue, ulong.MaxValue),
    };
}
