using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const uint MFD_CLOEXEC = 0x1;

    /// <summary>memfd_create(2): anonymous memory with a descriptor, shareable by SCM_RIGHTS; -1 with errno.</summary>
    public static int MemfdCreate(string name, uint flags) => memfd_create(name, flags);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int memfd_create(string name, uint flags);
}
