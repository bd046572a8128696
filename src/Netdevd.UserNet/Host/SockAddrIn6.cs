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
}
