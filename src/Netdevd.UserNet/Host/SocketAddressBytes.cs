using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>Reads and writes <see cref="SocketAddress"/> bytes in place (sockaddr_in, sockaddr_in6), so the datagram path allocates no endpoints.</summary>
internal static class SocketAddressBytes
{
    public static SocketAddress CreateIpv4() => new(AddressFamily.InterNetwork);

    public static void Write(SocketAddress address, Ipv4Address ip, ushort port)
    {
        var b = address.Buffer.Span;
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], port);
        ip.WriteTo(b[4..]);
    }

    /// <summary>sockaddr_in6: port at 2, flow information at 4, the address at 8, scope at 24.</summary>
    public static void Write6(SocketAddress address, Ipv6Address ip, ushort port)
    {
        var b = address.Buffer.Span;
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], port);
        b.Slice(4, 4).Clear();
        ip.WriteTo(b[8..]);
        b.Slice(24, 4).Clear();
    }

    public static Ipv6Address Address6(SocketAddress address) => Ipv6Address.Read(address.Buffer.Span.Slice(8, 16));

    public static Ipv4Address Address(SocketAddress address) => Ipv4Address.Read(address.Buffer.Span[4..]);

    public static ushort Port(SocketAddress address) => BinaryPrimitives.ReadUInt16BigEndian(address.Buffer.Span[2..]);

    public static Ipv4Address FromIpAddress(IPAddress address)
    {
        Span<byte> b = stackalloc byte[4];
        return address.TryWriteBytes(b, out var n) && n == 4 ? Ipv4Address.Read(b) : Ipv4Address.Any;
    }

    public static IPAddress ToIpAddress(Ipv4Address address)
    {
        Span<byte> b = stackalloc byte[4];
        address.WriteTo(b);
        return new IPAddress(b);
    }
}
