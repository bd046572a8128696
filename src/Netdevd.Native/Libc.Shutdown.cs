using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;
    public const int SO_LINGER = 13;

    /// <summary>shutdown(2).</summary>
    public static int Shutdown(int fd, int how) => shutdown(fd, how);

    /// <summary>SO_LINGER on with a zero timeout: close(2) then resets the connection instead of a FIN.</summary>
    public static unsafe int SetAbortiveClose(int fd)
    {
        var linger = stackalloc int[2];
        linger[0] = 1;
        linger[1] = 0;
        return setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, 2 * sizeof(int));
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int shutdown(int fd, int how);
}
