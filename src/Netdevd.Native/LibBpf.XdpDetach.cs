using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class LibBpf
{
    /// <summary>bpf_xdp_detach: removes the interface's program of that mode; 0 or -errno.</summary>
    public static int XdpDetach(int ifindex, uint flags) => bpf_xdp_detach(ifindex, flags, 0);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int bpf_xdp_detach(int ifindex, uint flags, nint opts);
}
