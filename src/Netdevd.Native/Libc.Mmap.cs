using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_POPULATE = 0x8000;

    /// <summary>MAP_FAILED.</summary>
    public static readonly nint MapFailed = -1;

    /// <summary>mmap(2); <see cref="MapFailed"/> with errno on failure.</summary>
    public static nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset) =>
        mmap(address, length, protection, flags, fd, offset);

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);
}
