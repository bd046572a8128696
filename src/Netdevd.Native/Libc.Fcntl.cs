using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int O_NONBLOCK = 0x800;

    /// <summary>fcntl(2) with an int argument (F_GETFL, F_SETFL, ...); -1 with errno on failure.</summary>
    public static int Fcntl(int fd, int command, int argument) => fcntl(fd, command, argument);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);
}
