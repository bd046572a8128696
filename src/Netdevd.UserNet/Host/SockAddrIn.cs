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

    /// <summary>The address and port of <paramref name="sockaddr"/> when it is a whole sockaddr_in.</summary>
    public static bool TryRead(ReadOnlySpan<byte> sockaddr, out Ipv4Address address, out ushort port)
    {
        var whole = sockaddr.Length >= Length && BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) == Libc.AF_INET;
        address = whole ? Ipv4Address.Read(sockaddr[4..]) : default;
        port = whole ? BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]) : (ushort)0;
        return whole;
    }
}
