using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x01;

    /// <summary>The value mmap returns on failure.</summary>
    public static readonly nint MAP_FAILED = -1;

    /// <summary>mmap(2) of <paramref name="length"/> bytes of <paramref name="fd"/> from <paramref name="offset"/>; <see cref="MAP_FAILED"/> with errno on failure.</summary>
    public static unsafe nint Mmap(nuint length, int protection, int flags, int fd, long offset) =>
        (nint)mmap(null, length, protection, flags, fd, offset);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);
}
