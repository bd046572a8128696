using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>Reads and writes IPv4 <see cref="SocketAddress"/> bytes in place (sockaddr_in), so the datagram path allocates no endpoints.</summary>
internal static class SocketAddressBytes
{
    public static SocketAddress CreateIpv4() => new(AddressFamily.InterNetwork);

    public static void Write(SocketAddress address, Ipv4Address ip, ushort port)
    {
        var b = address.Buffer.Span;
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], port);
        ip.WriteTo(b[4..]);
    }

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
