using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <remarks>SOL_SOCKET, SO_TYPE, SO_REUSEADDR, SOCK_STREAM/DGRAM, getsockopt and setsockopt live in Libc.SockOpt.cs; unlink in Libc.Unlink.cs.</remarks>
public static partial class Libc
{
    public const int AF_UNSPEC = 0;
    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int AF_VSOCK = 40;
    /// <summary>Route netlink (NETLINK_ROUTE, protocol 0): addresses and routes of the caller's network namespace.</summary>
    public const int AF_NETLINK = 16;
    public const int NETLINK_ROUTE = 0;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SO_ERROR = 4;
    public const int SO_RXQ_OVFL = 40;
    public const int SO_RCVBUF = 8;
    public const int SO_SNDBUF = 7;
    /// <summary>A send timeout (struct timeval); Linux also bounds a blocking connect(2) by it.</summary>
    public const int SO_SNDTIMEO = 21;
    /// <summary>A receive timeout (struct timeval): a blocking read(2) gives up with EAGAIN.</summary>
    public const int SO_RCVTIMEO = 20;
    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;

    /// <summary>Acknowledge at once rather than delayed (the kernel may fall back to delayed ACKs later).</summary>
    public const int TCP_QUICKACK = 12;
    public const int IPPROTO_ICMP = 1;
    public const int IPPROTO_ICMPV6 = 58;
    /// <summary>Level of ICMP_FILTER: a raw ICMP socket's 32-bit mask of the types (0..31) it drops.</summary>
    public const int SOL_RAW = 255;
    public const int ICMP_FILTER = 1;
    /// <summary>At IPPROTO_ICMPV6: a raw ICMPv6 socket's 256-bit mask (struct icmp6_filter) of the types it drops.</summary>
    public const int ICMP6_FILTER = 1;

    /// <summary>
    /// setsockopt(2) of <see cref="SO_RCVTIMEO"/> or <see cref="SO_SNDTIMEO"/> to
    /// <paramref name="timeout"/> (whole microseconds); -1 with errno on failure.
    /// </summary>
    public static int SetSocketTimeout(int fd, int option, TimeSpan timeout)
    {
        // struct timeval on 64-bit Linux: tv_sec and tv_usec, both long.
        var microseconds = (long)timeout.TotalMicroseconds;
        ReadOnlySpan<long> timeval = [microseconds / 1_000_000, microseconds % 1_000_000];
        return SetSockOpt(fd, SOL_SOCKET, option, MemoryMarshal.AsBytes(timeval));
    }

    /// <summary>socket(2); -1 with errno on failure.</summary>
    public static int Socket(int domain, int type, int protocol) => SysSocket(domain, type, protocol);

    /// <summary>bind(2) to a socket address.</summary>
    public static unsafe int Bind(int fd, SockAddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        fixed (byte* p = address.Bytes)
        {
            return SysBind(fd, p, (uint)address.Bytes.Length);
        }
    }

    /// <summary>bind(2) to a sockaddr given as bytes.</summary>
    public static unsafe int Bind(int fd, ReadOnlySpan<byte> address)
    {
        fixed (byte* p = address)
        {
            return SysBind(fd, p, (uint)address.Length);
        }
    }

    /// <summary>connect(2) to a socket address.</summary>
    public static unsafe int Connect(int fd, SockAddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        fixed (byte* p = address.Bytes)
        {
            return SysConnect(fd, p, (uint)address.Bytes.Length);
        }
    }

    /// <summary>getsockname(2): the socket's own address, or null with errno set.</summary>
    public static unsafe SockAddr? GetSockName(int fd)
    {
        var buffer = stackalloc byte[128];
        uint length = 128;
        if (SysGetsockname(fd, buffer, &length) < 0)
        {
            return null;
        }

        return SockAddr.FromBytes(new ReadOnlySpan<byte>(buffer, (int)Math.Min(length, 128u)));
    }

    /// <summary>getpeername(2) into <paramref name="address"/>: 0 with its length in <paramref name="length"/>, or -1 with errno set.</summary>
    public static unsafe int GetPeerName(int fd, Span<byte> address, out int length)
    {
        var size = (uint)address.Length;
        fixed (byte* p = address)
        {
            var result = SysGetpeername(fd, p, &size);
            length = (int)Math.Min(size, (uint)address.Length);
            return result;
        }
    }

    /// <summary>setsockopt(2) with a structure given as bytes (ip_mreq, in_addr...).</summary>
    public static unsafe int SetSockOpt(int fd, int level, int name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
        {
            return SysSetsockopt(fd, level, name, p, (uint)value.Length);
        }
    }

    /// <summary>sendto(2) of one datagram; <paramref name="destination"/> null means send(2) on a connected socket.</summary>
    public static unsafe nint SendTo(int fd, ReadOnlySpan<byte> buffer, int flags, SockAddr? destination)
    {
        fixed (byte* data = buffer)
        {
            if (destination is null)
            {
                return SysSendto(fd, data, (nuint)buffer.Length, flags, null, 0);
            }

            fixed (byte* address = destination.Bytes)
            {
                return SysSendto(fd, data, (nuint)buffer.Length, flags, address, (uint)destination.Bytes.Length);
            }
        }
    }

    /// <summary>sendto(2) to a sockaddr given as bytes (built in place by the caller: no allocation per datagram).</summary>
    public static unsafe nint SendTo(int fd, ReadOnlySpan<byte> buffer, int flags, ReadOnlySpan<byte> destination)
    {
        fixed (byte* data = buffer)
        fixed (byte* address = destination)
        {
            return SysSendto(fd, data, (nuint)buffer.Length, flags, address, (uint)destination.Length);
        }
    }

    /// <summary>connect(2) to a sockaddr given as bytes.</summary>
    public static unsafe int Connect(int fd, ReadOnlySpan<byte> address)
    {
        fixed (byte* p = address)
        {
            return SysConnect(fd, p, (uint)address.Length);
        }
    }

    /// <summary>dup(2).</summary>
    public static int Dup(int fd) => SysDup(fd);

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    private static partial int SysSocket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "bind", SetLastError = true)]
    private static unsafe partial int SysBind(int fd, byte* addr, uint addrlen);

    [LibraryImport(Library, EntryPoint = "connect", SetLastError = true)]
    private static unsafe partial int SysConnect(int fd, byte* addr, uint addrlen);

    [LibraryImport(Library, EntryPoint = "getpeername", SetLastError = true)]
    private static unsafe partial int SysGetpeername(int fd, byte* address, uint* length);

    [LibraryImport(Library, EntryPoint = "getsockname", SetLastError = true)]
    private static unsafe partial int SysGetsockname(int fd, byte* addr, uint* addrlen);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    private static unsafe partial int SysSetsockopt(int fd, int level, int optname, byte* optval, uint optlen);

    [LibraryImport(Library, EntryPoint = "sendto", SetLastError = true)]
    private static unsafe partial nint SysSendto(int fd, byte* buf, nuint len, int flags, byte* destAddr, uint addrlen);

    [LibraryImport(Library, EntryPoint = "dup", SetLastError = true)]
    private static partial int SysDup(int fd);
}
