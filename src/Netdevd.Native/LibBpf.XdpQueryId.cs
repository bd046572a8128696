using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class LibBpf
{
    /// <summary>bpf_xdp_query_id: the id of the interface's program in that mode (0: none); 0 or -errno.</summary>
    public static unsafe int XdpQueryId(int ifindex, uint flags, out uint programId)
    {
        uint id = 0;
        var rc = bpf_xdp_query_id(ifindex, (int)flags, &id);
        programId = id;
        return rc;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int bpf_xdp_query_id(int ifindex, int flags, uint* prog_id);
}
