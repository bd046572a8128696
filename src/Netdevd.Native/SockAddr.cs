using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Netdevd.Native;

/// <summary>
/// A socket address as the kernel takes it (struct sockaddr_in / sockaddr_un bytes), built once
/// at setup and then pinned per call without allocating.
/// </summary>
public sealed class SockAddr
{
    /// <summary>sizeof(sun_path) on Linux.</summary>
    public const int UnixPathCapacity = 108;

    private const int InetSize = 16;
    private const int UnixSize = 2 + UnixPathCapacity;

    private SockAddr(byte[] bytes)
    {
        Bytes = bytes;
    }

    /// <summary>The raw structure, family first (host order short).</summary>
    public byte[] Bytes { get; }

    public int Family => Bytes.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(Bytes) : Libc.AF_UNSPEC;

    /// <summary>struct sockaddr_in for an IPv4 end point.</summary>
    public static SockAddr Inet(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var b = new byte[InetSize];
        BinaryPrimitives.WriteUInt16LittleEndian(b, Libc.AF_INET);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)endPoint.Port);
        if (!endPoint.Address.TryWriteBytes(b.AsSpan(4, 4), out _))
        {
            throw new ArgumentException("not an IPv4 address", nameof(endPoint));
        }

        return new SockAddr(b);
    }

    /// <summary>The size of struct sockaddr_in6.</summary>
    public const int Inet6Length = 28;

    /// <summary>struct sockaddr_in6 for an IPv6 end point (flow label 0, the address's scope id).</summary>
    public static SockAddr Inet6(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        Span<byte> address = stackalloc byte[16];
        if (endPoint.Address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || !endPoint.Address.TryWriteBytes(address, out _))
        {
            throw new ArgumentException("not an IPv6 address", nameof(endPoint));
        }

        var b = new byte[Inet6Length];
        WriteInet6(b, address, (ushort)endPoint.Port, (uint)endPoint.Address.ScopeId);
        return new SockAddr(b);
    }

    /// <summary>
    /// Writes struct sockaddr_in6 in place (no allocation, for a datagram path): the 16-byte
    /// <paramref name="address"/>, <paramref name="port"/>, flow label 0 and <paramref name="scopeId"/>
    /// (the interface of a link-local address, 0 for others).
    /// </summary>
    public static void WriteInet6(Span<byte> sockaddr, ReadOnlySpan<byte> address, ushort port, uint scopeId)
    {
        sockaddr[..Inet6Length].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(sockaddr, Libc.AF_INET6);
        BinaryPrimitives.WriteUInt16BigEndian(sockaddr[2..], port);
        address[..16].CopyTo(sockaddr[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(sockaddr[24..], scopeId);
    }

    /// <summary>
    /// struct sockaddr_un with <paramref name="path"/> (the full structure, as QEMU passes it);
    /// a path longer than 107 bytes is cut as snprintf cuts it. Callers check the length first.
    /// </summary>
    public static SockAddr Unix(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var b = new byte[UnixSize];
        BinaryPrimitives.WriteUInt16LittleEndian(b, Libc.AF_UNIX);
        var utf8 = Encoding.UTF8.GetBytes(path);
        utf8.AsSpan(0, Math.Min(utf8.Length, UnixPathCapacity - 1)).CopyTo(b.AsSpan(2));
        return new SockAddr(b);
    }

    /// <summary>Wraps bytes that came from the kernel (getsockname) or a caller that built them.</summary>
    public static SockAddr FromBytes(ReadOnlySpan<byte> bytes) => new(bytes.ToArray());

    /// <summary>The IPv4 end point of an AF_INET address, else null.</summary>
    public IPEndPoint? ToIPEndPoint()
    {
        if (Family != Libc.AF_INET || Bytes.Length < 8)
        {
            return null;
        }

        return new IPEndPoint(new IPAddress(Bytes.AsSpan(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(Bytes.AsSpan(2)));
    }
}
