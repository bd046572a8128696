namespace Netdevd.Native;

/// <summary>
/// Entries into libbpf (Debian's libbpf1) for the XDP program an af-xdp netdev attaches: an
/// XSKMAP, a five-instruction program that redirects each frame to the socket of its receive
/// queue, linking it to an interface and asking which program an interface has. Each lives in
/// its own file (LibBpf.NAME.cs). libbpf 1.x returns -errno and also sets errno.
/// </summary>
public static partial class LibBpf
{
    internal const string Library = "libbpf.so.1";

    public const int BPF_MAP_TYPE_XSKMAP = 17;
    public const int BPF_PROG_TYPE_XDP = 6;
}
