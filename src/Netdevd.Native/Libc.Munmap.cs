using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>munmap(2) of a mapping made by <see cref="Mmap"/>.</summary>
    public static unsafe int Munmap(nint address, nuint length) => munmap((void*)address, length);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int munmap(void* addr, nuint length);
}
