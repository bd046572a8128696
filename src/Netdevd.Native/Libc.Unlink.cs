using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>unlink(2): removes a socket file left by an earlier listener (File.Delete hides the errno QEMU's text needs).</summary>
    public static int Unlink(string path) => unlink(path);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unlink(string pathname);
}
