using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_CREAT = 0x40;
    public const int O_APPEND = 0x400;
    public const int O_CLOEXEC = 0x80000;

    /// <summary>open(2) of a path (a character device such as /dev/net/tun); -1 with errno on failure.</summary>
    public static int Open(string path, int flags) => open(path, flags, 0);

    /// <summary>open(2) that may create the file, with <paramref name="mode"/> (before the umask).</summary>
    public static int Open(string path, int flags, int mode) => open(path, flags, mode);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);
}
