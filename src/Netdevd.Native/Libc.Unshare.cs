using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>CLONE_NEWNS: a new mount namespace (implies an own filesystem context, CLONE_FS).</summary>
    public const int CLONE_NEWNS = 0x00020000;

    /// <summary>
    /// unshare(2). In a multi-threaded process CLONE_NEWNS moves only the calling thread (it gets
    /// its own root and working directory); namespaces that imply CLONE_THREAD fail with EINVAL.
    /// </summary>
    public static int Unshare(int flags) => unshare(flags);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int unshare(int flags);
}
