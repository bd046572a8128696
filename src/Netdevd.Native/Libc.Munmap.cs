using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>munmap(2).</summary>
    public static int Munmap(nint address, nuint length) => munmap(address, length);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int munmap(nint addr, nuint length);
}
