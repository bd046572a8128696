using System.Buffers.Binary;
using Netdevd.Native;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>struct sockaddr_in6 written and read in place (no allocation per datagram).</summary>
internal static class SockAddrIn6
{
    public const int Length = SockAddr.Inet6Length;

    /// <param name="scopeId">The interface of a link-local address (sin6_scope_id), 0 for others.</param>
    public static void Write(Span<byte> sockaddr, Ipv6Address address, ushort port, uint scopeId = 0)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.WriteTo(bytes);
        SockAddr.WriteInet6(sockaddr, bytes, port, scopeId);
    }

    public static Ipv6Address Address(ReadOnlySpan<byte> sockaddr) => Ipv6Address.Read(sockaddr.Slice(8, 16));

    /// <summary>The address and port of <paramref name="sockaddr"/> when it is a whole sockaddr_in6.</summary>
    public static bool TryRead(ReadOnlySpan<byte> sockaddr, out Ipv6Address address, out ushort port)
    {
        var whole = sockaddr.Length >= Length && BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) == Libc.AF_INET6;
        address = whole ? Address(sockaddr) : default;
        port = whole ? BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]) : (ushort)0;
        return whole;
    }
}
