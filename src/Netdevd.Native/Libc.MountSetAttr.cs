using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const ulong MOUNT_ATTR_RDONLY = 0x1;
    public const ulong MOUNT_ATTR_NOSUID = 0x2;
    public const ulong MOUNT_ATTR_NODEV = 0x4;
    public const ulong MOUNT_ATTR_NOEXEC = 0x8;

    private const int AtFdCwd = -100;
    private const uint AtRecursive = 0x8000;

    /// <summary>
    /// mount_setattr(2) with AT_RECURSIVE (Linux 5.12): sets <paramref name="attributes"/> on the
    /// mount at <paramref name="path"/> and every mount below it, which a remount of a recursive
    /// bind does not. -1 with errno (ENOSYS on older kernels).
    /// </summary>
    public static unsafe int SetMountAttributesRecursive(string path, ulong attributes)
    {
        var p = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            var attr = stackalloc ulong[4];
            attr[0] = attributes;
            attr[1] = attr[2] = attr[3] = 0;
            return (int)syscall6(SyscallNumber(442, 442), AtFdCwd, p, (nint)AtRecursive, (nint)attr, 32);
        }
        finally
        {
            Marshal.FreeCoTaskMem(p);
        }
    }
}
