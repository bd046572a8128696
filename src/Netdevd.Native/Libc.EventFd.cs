using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;

    /// <summary>eventfd(2): a counter another thread can bump to wake a poll.</summary>
    public static int EventFd(uint initial, int flags) => eventfd(initial, flags);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);
}
