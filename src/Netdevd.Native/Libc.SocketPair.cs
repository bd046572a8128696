using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>socketpair(2); the two descriptors, or false with errno.</summary>
    public static unsafe bool SocketPair(int domain, int type, int protocol, out int first, out int second)
    {
        var fds = stackalloc int[2];
        var rc = socketpair(domain, type, protocol, fds);
        first = rc == 0 ? fds[0] : -1;
        second = rc == 0 ? fds[1] : -1;
        return rc == 0;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int socketpair(int domain, int type, int protocol, int* sv);
}
