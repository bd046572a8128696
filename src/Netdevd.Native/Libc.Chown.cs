using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>chown(2) of the group only (owner left as is); -1 with errno on failure.</summary>
    public static int ChangeGroup(string path, uint gid) => chown(path, uint.MaxValue, gid);

    /// <summary>chmod(2); -1 with errno on failure (File.SetUnixFileMode throws instead).</summary>
    public static int ChangeMode(string path, uint mode) => chmod(path, mode);

    /// <summary>
    /// getgrnam(3)'s gr_gid for a group name, or null when there is no such group (libvdeplug
    /// then falls back to atoi of the name).
    /// </summary>
    public static unsafe uint? GroupId(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var entry = getgrnam(name);
        if (entry == 0)
        {
            return null;
        }

        // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; }
        return *(uint*)(entry + (2 * sizeof(nint)));
    }

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chmod(string path, uint mode);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint getgrnam(string name);
}
