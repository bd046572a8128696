using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class LibBpf
{
    /// <summary>bpf_map_create: a map's descriptor, or -errno.</summary>
    public static int MapCreate(int type, string name, uint keySize, uint valueSize, uint maxEntries) =>
        bpf_map_create(type, name, keySize, valueSize, maxEntries, 0);

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int bpf_map_create(int map_type, string map_name, uint key_size, uint value_size, uint max_entries, nint opts);
}
