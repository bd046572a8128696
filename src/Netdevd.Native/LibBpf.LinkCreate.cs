using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class LibBpf
{
    /// <summary>enum bpf_attach_type BPF_XDP.</summary>
    public const int BPF_XDP = 37;

    /// <summary>
    /// bpf_link_create of an XDP program on an interface (of the calling thread's namespace) in
    /// the mode of <paramref name="xdpFlags"/>: the link's descriptor, or -errno (EBUSY when the
    /// interface has a program already). Closing the link detaches the program, from any thread
    /// and any namespace, and the kernel closes it when the process dies.
    /// </summary>
    public static unsafe int XdpLinkCreate(int programFd, int ifindex, uint xdpFlags)
    {
        // struct bpf_link_create_opts { size_t sz; __u32 flags; ... }: libbpf reads only the first sz bytes.
        var opts = stackalloc ulong[2];
        opts[0] = 16;
        opts[1] = xdpFlags;
        return bpf_link_create(programFd, ifindex, BPF_XDP, opts);
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int bpf_link_create(int prog_fd, int target_fd, int attach_type, void* opts);
}
