using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>recv(2) into <paramref name="buffer"/>; -1 with errno on failure, 0 at end of stream.</summary>
    public static unsafe nint Recv(int fd, Span<byte> buffer, int flags)
    {
        fixed (byte* p = buffer)
        {
            return recv(fd, p, (nuint)buffer.Length, flags);
        }
    }

    /// <summary>
    /// recvfrom(2): one datagram into <paramref name="buffer"/>, the sender's sockaddr into
    /// <paramref name="address"/> (its length in <paramref name="addressLength"/>), without allocating.
    /// </summary>
    public static unsafe nint RecvFrom(int fd, Span<byte> buffer, int flags, Span<byte> address, out int addressLength)
    {
        fixed (byte* p = buffer)
        fixed (byte* a = address)
        {
            var length = (uint)address.Length;
            var n = recvfrom(fd, p, (nuint)buffer.Length, flags, a, &length);
            addressLength = (int)length;
            return n;
        }
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint recv(int fd, byte* buf, nuint len, int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint recvfrom(int fd, byte* buf, nuint len, int flags, byte* srcAddr, uint* addrlen);
}
