using Netdevd.Native;

namespace Netdevd.Backends.AfXdp;

/// <summary>
/// The XDP program an af-xdp netdev attaches when it is not told to use one already there
/// (<c>inhibit</c>): an XSKMAP keyed by receive queue and a program that redirects each frame
/// to the socket of the queue it arrived on, passing it to the kernel's stack when that queue
/// has none. It is libxdp's default program without libxdp's dispatcher, which kernel lockdown
/// refuses and which needs a bpffs that <c>ip netns exec</c> hides; written out here so nothing
/// has to be found on disk. Attached through a BPF link, so it goes when the netdev closes (as
/// QEMU removes it) whatever thread or namespace closes it, and with the process if it dies.
/// </summary>
internal sealed class XdpRedirectProgram : IDisposable
{
    private readonly uint _flags;
    private int _mapFd;
    private int _programFd;
    private int _linkFd = -1;

    private XdpRedirectProgram(uint flags, int mapFd, int programFd)
    {
        _flags = flags;
        _mapFd = mapFd;
        _programFd = programFd;
    }

    /// <summary>The attach flags that worked (mode plus UPDATE_IF_NOEXIST), as QEMU keeps them for the final query.</summary>
    public uint Flags => _flags;

    /// <summary>
    /// Creates the map and program and attaches them in the mode of <paramref name="flags"/>;
    /// null with the errno of the step that failed.
    /// </summary>
    public static XdpRedirectProgram? TryAttach(int ifindex, uint flags, uint mapEntries, out int errno)
    {
        var map = LibBpf.MapCreate(LibBpf.BPF_MAP_TYPE_XSKMAP, "xsks_map", 4, 4, mapEntries);
        if (map < 0)
        {
            errno = -map;
            return null;
        }

        var program = LibBpf.ProgLoad(LibBpf.BPF_PROG_TYPE_XDP, "netdevd_xsk", "Dual MIT/GPL", Instructions(map));
        if (program < 0)
        {
            errno = -program;
            Libc.Close(map);
            return null;
        }

        var result = new XdpRedirectProgram(flags, map, program);

        // A link attaches only where no program is (XDP_FLAGS_UPDATE_IF_NOEXIST, as QEMU asks).
        var link = LibBpf.XdpLinkCreate(program, ifindex, flags & ~Xdp.XDP_FLAGS_UPDATE_IF_NOEXIST);
        if (link < 0)
        {
            errno = -link;
            result.Dispose();
            return null;
        }

        result._linkFd = link;
        errno = 0;
        return result;
    }

    /// <summary>Puts the socket of <paramref name="queue"/> into the map; 0 or an errno.</summary>
    public int AddSocket(uint queue, int socketFd)
    {
        var rc = LibBpf.MapUpdate(_mapFd, queue, socketFd);
        return rc < 0 ? -rc : 0;
    }

    public void Dispose()
    {
        if (_linkFd >= 0)
        {
            Libc.Close(_linkFd);
            _linkFd = -1;
        }

        if (_programFd >= 0)
        {
            Libc.Close(_programFd);
            _programFd = -1;
        }

        if (_mapFd >= 0)
        {
            Libc.Close(_mapFd);
            _mapFd = -1;
        }
    }

    /// <summary>
    /// <c>return bpf_redirect_map(&amp;xsks_map, ctx-&gt;rx_queue_index, XDP_PASS);</c> as eBPF
    /// instructions (code, dst | src &lt;&lt; 4, 16-bit offset, 32-bit immediate).
    /// </summary>
    private static ulong[] Instructions(int mapFd) =>
    [
        Insn(0x61, 2, 1, 16, 0),       // r2 = *(u32 *)(r1 + 16): xdp_md.rx_queue_index
        Insn(0x18, 1, 1, 0, mapFd),    // r1 = the map (ld_imm64, BPF_PSEUDO_MAP_FD)
        Insn(0x00, 0, 0, 0, 0),        //      (second half of ld_imm64)
        Insn(0xb7, 3, 0, 0, 2),        // r3 = XDP_PASS: what a queue without a socket gets
        Insn(0x85, 0, 0, 0, 51),       // call bpf_redirect_map
        Insn(0x95, 0, 0, 0, 0),        // exit
    ];

    private static ulong Insn(byte code, int dst, int src, short offset, int immediate) =>
        code | ((ulong)(byte)(dst | (src << 4)) << 8) | ((ulong)(ushort)offset << 16) | ((ulong)(uint)immediate << 32);
}
