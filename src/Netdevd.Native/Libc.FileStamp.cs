namespace Netdevd.Native;

/// <summary>
/// What identifies one version of a file: its device and inode (a file replaced by rename has a
/// new inode), size, and modification and change times in nanoseconds.
/// </summary>
public readonly record struct FileStamp(ulong Device, ulong Inode, long Size, long ModifiedNs, long ChangedNs);

public static partial class Libc
{
    private const uint STATX_MTIME = 0x40;
    private const uint STATX_CTIME = 0x80;
    private const uint STATX_INO = 0x100;
    private const uint STATX_SIZE = 0x200;

    /// <summary>
    /// statx(2) of a path, following symbolic links (/etc/resolv.conf is often one): the
    /// <see cref="FileStamp"/> of the file it names. False with errno when it cannot be read.
    /// </summary>
    public static unsafe bool TryGetFileStamp(string path, out FileStamp stamp)
    {
        ArgumentNullException.ThrowIfNull(path);
        var buffer = stackalloc byte[256];
        if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME, buffer) != 0)
        {
            stamp = default;
            return false;
        }

        // struct statx: stx_ino at 32, stx_size at 40, stx_ctime at 96, stx_mtime at 112 (each
        // timestamp an i64 of seconds and a u32 of nanoseconds), stx_dev_major/minor at 136/140.
        static long Nanoseconds(byte* t) => (*(long*)t * 1_000_000_000L) + *(uint*)(t + 8);
        var device = ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140);
        stamp = new FileStamp(device, *(ulong*)(buffer + 32), *(long*)(buffer + 40), Nanoseconds(buffer + 112), Nanoseconds(buffer + 96));
        return true;
    }
}
