using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class LibBpf
{
    /// <summary>bpf_map_update_elem of a 4-byte key and a 4-byte value (an XSKMAP: queue to socket); 0 or -errno.</summary>
    public static unsafe int MapUpdate(int mapFd, uint key, int value)
    {
        return bpf_map_update_elem(mapFd, &key, &value, 0);
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int bpf_map_update_elem(int fd, void* key, void* value, ulong flags);
}
