using System.Buffers.Binary;
using Netdevd.Native;
using Netdevd.Wire;

namespace Netdevd.UserNet.Host;

/// <summary>struct sockaddr_in written in place (no allocation per datagram).</summary>
internal static class SockAddrIn
{
    public const int Length = 16;

    public static void Write(Span<byte> sockaddr, Ipv4Address address, ushort port)
    {
        sockaddr[..Length].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(sockaddr, Libc.AF_INET);
        BinaryPrimitives.WriteUInt16BigEndian(sockaddr[2..], port);
        address.WriteTo(sockaddr[4..]);
    }
}
