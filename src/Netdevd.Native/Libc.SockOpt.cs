using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int SOL_SOCKET = 1;
    public const int SO_TYPE = 3;
    public const int SO_REUSEADDR = 2;
    public const int SO_DOMAIN = 39;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;

    /// <summary>
    /// getsockopt(2) of an int option. .NET happily wraps any descriptor in a Socket, so this
    /// is how a descriptor handed to us (fd=, getfd) is proved to be a socket at all (SO_TYPE).
    /// </summary>
    public static unsafe int GetSockOptInt(int fd, int level, int option, out int value)
    {
        int v = 0;
        uint length = sizeof(int);
        var rc = getsockopt(fd, level, option, &v, &length);
        value = v;
        return rc;
    }

    /// <summary>
    /// setsockopt(2) of an int option. Used for SO_REUSEADDR because .NET's ReuseAddress also
    /// sets SO_REUSEPORT on Linux, which would let two listeners share a port that QEMU would
    /// report as "Address already in use".
    /// </summary>
    public static unsafe int SetSockOptInt(int fd, int level, int option, int value) =>
        setsockopt(fd, level, option, &value, sizeof(int));

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int setsockopt(int sockfd, int level, int optname, void* optval, uint optlen);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int getsockopt(int sockfd, int level, int optname, void* optval, uint* optlen);
}
