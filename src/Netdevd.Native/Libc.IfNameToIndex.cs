using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>if_nametoindex(3): the interface's index in this network namespace, 0 with errno when there is none.</summary>
    public static uint IfNameToIndex(string name) => if_nametoindex(name);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string ifname);
}
