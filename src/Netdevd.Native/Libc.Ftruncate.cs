using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>ftruncate(2): sets the size of a file (a memfd's memory); -1 with errno.</summary>
    public static int Ftruncate(int fd, long length) => ftruncate(fd, length);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int ftruncate(int fd, long length);
}
