using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int F_OK = 0;
    public const int X_OK = 1;
    public const int R_OK = 4;

    /// <summary>access(2): 0 when the calling user may access <paramref name="path"/> as <paramref name="mode"/> asks, else -1 with errno (QEMU's texts name the errno).</summary>
    public static int Access(string path, int mode)
    {
        ArgumentNullException.ThrowIfNull(path);
        return access(path, mode);
    }

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int access(string pathname, int mode);
}
