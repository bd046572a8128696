using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>
/// A hostfwd client's address as the guest's side of the stack takes it, for either listener
/// family. An IPv4 guest sees an IPv4 client as itself, an IPv4-mapped IPv6 client as its IPv4
/// address, and any other IPv6 client (which it could not address) as unspecified, which the
/// stack shows as the virtual host, like loopback.
/// </summary>
internal static class ForwardedClient
{
    /// <summary>A client's identity on a listener: its address bytes and port (no allocation per datagram).</summary>
    public readonly record struct Key(UInt128 Address, ushort Port);

    public static Ipv4Address Ipv4(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetwork ? SocketAddressBytes.FromIpAddress(address) : Ipv4Address.Any;
    }

    /// <summary>For an IPv6 guest: an IPv6 client as itself, an IPv4 one as unspecified (the stack shows it as the virtual host).</summary>
    public static Ipv6Address Ipv6(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 && !address.IsIPv4MappedToIPv6 ? Ipv6Address.FromIPAddress(address) : Ipv6Address.Unspecified;

    public static Ipv4Address Ipv4(SocketAddress from)
    {
        var b = from.Buffer.Span;
        if (from.Family == AddressFamily.InterNetwork)
        {
            return Ipv4Address.Read(b[4..]);
        }

        // sockaddr_in6: the address at offset 8; IPv4-mapped is ::ffff:a.b.c.d.
        var a = b.Slice(8, 16);
        return a[..10].IndexOfAnyExcept((byte)0) < 0 && a[10] == 0xFF && a[11] == 0xFF ? Ipv4Address.Read(a[12..]) : Ipv4Address.Any;
    }

    public static ushort Port(SocketAddress from) => BinaryPrimitives.ReadUInt16BigEndian(from.Buffer.Span[2..]);

    public static Key KeyOf(SocketAddress from)
    {
        var b = from.Buffer.Span;
        var address = from.Family == AddressFamily.InterNetwork
            ? BinaryPrimitives.ReadUInt32BigEndian(b[4..])
            : BinaryPrimitives.ReadUInt128BigEndian(b.Slice(8, 16));
        return new Key(address, Port(from));
    }
}
