using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class LibBpf
{
    /// <summary>bpf_xdp_attach: the program on the interface in the mode of <paramref name="flags"/>; 0 or -errno.</summary>
    public static int XdpAttach(int ifindex, int programFd, uint flags) => bpf_xdp_attach(ifindex, programFd, flags, 0);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int bpf_xdp_attach(int ifindex, int prog_fd, uint flags, nint opts);
}
