using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>
    /// pivot_root(2): <paramref name="newRoot"/> becomes the root of the calling thread's mount
    /// namespace and <paramref name="putOld"/> receives the old one. -1 with errno on failure.
    /// </summary>
    public static unsafe int PivotRoot(string newRoot, string putOld)
    {
        var n = Marshal.StringToCoTaskMemUTF8(newRoot);
        var o = Marshal.StringToCoTaskMemUTF8(putOld);
        try
        {
            return (int)syscall(SyscallNumber(155, 41), n, o, 0);
        }
        finally
        {
            Marshal.FreeCoTaskMem(n);
            Marshal.FreeCoTaskMem(o);
        }
    }
}
