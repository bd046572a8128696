using System.Buffers.Binary;
using System.Net.Sockets;
using Netdevd.Native;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// A hostfwd client's address, read in place from the sockaddr accept/recvfrom filled (either
/// family), as the guest's side of the stack takes it. An IPv4 guest sees an IPv4 client as
/// itself, an IPv4-mapped IPv6 client as its IPv4 address, and any other IPv6 client (which it
/// could not address) as unspecified, which the stack shows as the virtual host, like loopback;
/// an IPv6 guest sees IPv6 clients as themselves and IPv4 ones as the IPv6 virtual host.
/// </summary>
internal static class ForwardedClient
{
    /// <summary>sockaddr_in6's length, enough for either family.</summary>
    public const int SockAddrLength = SockAddrIn6.Length;

    /// <summary>A client's identity on a listener: its address bytes and port (no allocation per datagram).</summary>
    public readonly record struct Key(UInt128 Address, ushort Port);

    private static bool IsIpv6(ReadOnlySpan<byte> sockaddr) => BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) == Libc.AF_INET6;

    public static AddressFamily Family(ReadOnlySpan<byte> sockaddr) => IsIpv6(sockaddr) ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;

    /// <summary>The sockaddr's length for its family.</summary>
    public static int Length(ReadOnlySpan<byte> sockaddr) => IsIpv6(sockaddr) ? SockAddrLength : SockAddrIn.Length;

    public static Ipv4Address Ipv4(ReadOnlySpan<byte> sockaddr)
    {
        if (!IsIpv6(sockaddr))
        {
            return Ipv4Address.Read(sockaddr[4..]);
        }

        var a = Ipv6Address.Read(sockaddr.Slice(8, 16));
        return a.IsIpv4Mapped ? a.ToIpv4Mapped() : Ipv4Address.Any;
    }

    public static Ipv6Address Ipv6(ReadOnlySpan<byte> sockaddr)
    {
        if (!IsIpv6(sockaddr))
        {
            return Ipv6Address.Unspecified;
        }

        var a = Ipv6Address.Read(sockaddr.Slice(8, 16));
        return a.IsIpv4Mapped ? Ipv6Address.Unspecified : a;
    }

    /// <summary>Whether the client is on the host's loopback (127/8, ::1, or 127/8 mapped into IPv6).</summary>
    public static bool IsLoopback(ReadOnlySpan<byte> sockaddr)
    {
        if (!IsIpv6(sockaddr))
        {
            return sockaddr[4] == 127;
        }

        var a = Ipv6Address.Read(sockaddr.Slice(8, 16));
        return a.IsLoopback || (a.IsIpv4Mapped && sockaddr[20] == 127);
    }

    public static ushort Port(ReadOnlySpan<byte> sockaddr) => BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);

    public static Key KeyOf(ReadOnlySpan<byte> sockaddr)
    {
        var address = IsIpv6(sockaddr)
            ? BinaryPrimitives.ReadUInt128BigEndian(sockaddr.Slice(8, 16))
            : BinaryPrimitives.ReadUInt32BigEndian(sockaddr[4..]);
        return new Key(address, Port(sockaddr));
    }
}
