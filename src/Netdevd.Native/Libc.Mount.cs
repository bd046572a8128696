using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    // mount(2) flags used by the slirp4netns personality's sandbox.
    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const ulong MS_REMOUNT = 32;
    public const ulong MS_BIND = 4096;
    public const ulong MS_REC = 16384;
    public const ulong MS_PRIVATE = 1 << 18;

    /// <summary>umount2(2) flag: detach now, release once no longer busy.</summary>
    public const int MNT_DETACH = 2;

    /// <summary>mount(2); null strings pass NULL. -1 with errno on failure.</summary>
    public static int Mount(string? source, string target, string? fileSystemType, ulong flags, string? data) =>
        mount(source, target, fileSystemType, (nuint)flags, data);

    /// <summary>umount2(2). -1 with errno on failure.</summary>
    public static int Umount2(string target, int flags) => umount2(target, flags);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string? source, string target, string? filesystemtype, nuint mountflags, string? data);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2(string target, int flags);
}
