using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>chdir(2) of the calling thread's filesystem context. -1 with errno on failure.</summary>
    public static int Chdir(string path) => chdir(path);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chdir(string path);
}
