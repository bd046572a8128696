using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int PROT_EXEC = 0x4;
    public const int MADV_HUGEPAGE = 14;
    public const int MADV_COLLAPSE = 25;
    public const int MREMAP_MAYMOVE = 1;
    public const int MREMAP_FIXED = 2;

    /// <summary>mprotect(2).</summary>
    public static int Mprotect(nint address, nuint length, int protection) => mprotect(address, length, protection);

    /// <summary>madvise(2).</summary>
    public static int Madvise(nint address, nuint length, int advice) => madvise(address, length, advice);

    /// <summary>mremap(2) to a fixed address; <see cref="MapFailed"/> with errno on failure.</summary>
    public static nint MremapFixed(nint oldAddress, nuint oldSize, nuint newSize, nint newAddress) =>
        mremap(oldAddress, oldSize, newSize, MREMAP_MAYMOVE | MREMAP_FIXED, newAddress);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int mprotect(nint addr, nuint length, int prot);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int madvise(nint addr, nuint length, int advice);

    [LibraryImport(Library, SetLastError = true)]
    private static partial nint mremap(nint oldAddress, nuint oldSize, nuint newSize, int flags, nint newAddress);
}
