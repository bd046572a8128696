using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class LibBpf
{
    /// <summary>bpf_prog_load of raw instructions (8 bytes each); the program's descriptor, or -errno.</summary>
    public static unsafe int ProgLoad(int type, string name, string license, ReadOnlySpan<ulong> instructions)
    {
        fixed (ulong* p = instructions)
        {
            return bpf_prog_load(type, name, license, p, (nuint)instructions.Length, 0);
        }
    }

    [LibraryImport(Library, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int bpf_prog_load(int prog_type, string prog_name, string license, ulong* insns, nuint insn_cnt, nint opts);
}
