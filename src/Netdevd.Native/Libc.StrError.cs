using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>strerror(3): the system's text for an errno ("Connection refused").</summary>
    public static string StrError(int errno) => Marshal.PtrToStringUTF8(strerror(errno)) ?? $"Unknown error {errno}";

    [LibraryImport(Library)]
    private static partial nint strerror(int errnum);
}
