using System.Buffers.Binary;
using Netdevd.Native;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>struct sockaddr_in6 written and read in place (no allocation per datagram).</summary>
internal static class SockAddrIn6
{
    public const int Length = 28;

    /// <param name="scopeId">The interface of a link-local address (sin6_scope_id), 0 for others.</param>
    public static void Write(Span<byte> sockaddr, Ipv6Address address, ushort port, uint scopeId = 0)
    {
        sockaddr[..Length].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(sockaddr, Libc.AF_INET6);
        BinaryPrimitives.WriteUInt16BigEndian(sockaddr[2..], port);
        address.WriteTo(sockaddr[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(sockaddr[24..], scopeId);
    }

    public static Ipv6Address Address(ReadOnlySpan<byte> sockaddr) => Ipv6Address.Read(sockaddr.Slice(8, 16));
}
