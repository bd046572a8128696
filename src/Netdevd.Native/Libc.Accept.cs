using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>
    /// accept4(2): the next pending connection with <paramref name="flags"/> (SOCK_NONBLOCK,
    /// SOCK_CLOEXEC), the client's sockaddr into <paramref name="address"/>; -1 with errno (EAGAIN: none pending).
    /// </summary>
    public static unsafe int Accept(int fd, Span<byte> address, out int addressLength, int flags)
    {
        fixed (byte* a = address)
        {
            var length = (uint)address.Length;
            var client = accept4(fd, a, &length, flags);
            addressLength = (int)length;
            return client;
        }
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int accept4(int sockfd, byte* addr, uint* addrlen, int flags);
}
