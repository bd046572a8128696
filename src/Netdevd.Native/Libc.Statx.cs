using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const uint S_IFMT = 0xf000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFSOCK = 0xc000;

    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint STATX_TYPE = 0x1;
    private const uint STATX_MODE = 0x2;
    private const uint STATX_UID = 0x8;
    private const uint STATX_GID = 0x10;

    /// <summary>
    /// statx(2) of a path: its type and permission bits (st_mode), owner and group, without
    /// following a final symbolic link when <paramref name="followLinks"/> is false. statx is
    /// used rather than stat because its structure is the same on every architecture.
    /// False with errno on failure.
    /// </summary>
    public static unsafe bool Stat(string path, bool followLinks, out uint mode, out uint uid, out uint gid)
    {
        ArgumentNullException.ThrowIfNull(path);
        var buffer = stackalloc byte[256];
        var rc = statx(AT_FDCWD, path, followLinks ? 0 : AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID, buffer);
        if (rc != 0)
        {
            mode = uid = gid = 0;
            return false;
        }

        // struct statx: stx_uid at 20, stx_gid at 24, stx_mode (u16) at 28.
        uid = *(uint*)(buffer + 20);
        gid = *(uint*)(buffer + 24);
        mode = *(ushort*)(buffer + 28);
        return true;
    }

    /// <summary>geteuid(2).</summary>
    public static uint GetEffectiveUserId() => geteuid();

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int dirfd, string pathname, int flags, uint mask, byte* statxbuf);

    [LibraryImport(Library)]
    private static partial uint geteuid();
}
