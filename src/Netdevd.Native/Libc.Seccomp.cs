using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>One classic BPF instruction (struct sock_filter) of a seccomp filter.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct SockFilter(ushort Code, byte JumpTrue, byte JumpFalse, uint K);

public static partial class Libc
{
    // Classic BPF opcodes and seccomp's return values (linux/filter.h, linux/seccomp.h).
    public const ushort BPF_LD_W_ABS = 0x20;
    public const ushort BPF_JMP_JEQ_K = 0x15;
    public const ushort BPF_JMP_JGE_K = 0x35;
    public const ushort BPF_RET_K = 0x06;
    public const uint SECCOMP_RET_ALLOW = 0x7fff0000;
    public const uint SECCOMP_RET_ERRNO = 0x00050000;

    /// <summary>Offsets in struct seccomp_data: the system call number and the audit architecture.</summary>
    public const uint SeccompDataNr = 0;
    public const uint SeccompDataArch = 4;

    private const int SECCOMP_SET_MODE_FILTER = 1;
    private const int SECCOMP_FILTER_FLAG_TSYNC = 1;

    /// <summary>
    /// seccomp(2) SECCOMP_SET_MODE_FILTER with SECCOMP_FILTER_FLAG_TSYNC: the filter applies to
    /// every thread of the process (and no_new_privs with it), not only the caller, which matters
    /// for a runtime that started its threads before us. The caller needs no_new_privs (or
    /// CAP_SYS_ADMIN). 0 on success; -1 with errno, or the id of a thread that could not follow.
    /// </summary>
    public static unsafe int InstallSeccompFilterAllThreads(ReadOnlySpan<SockFilter> program)
    {
        fixed (SockFilter* p = program)
        {
            var prog = new SockFprog { Length = (ushort)program.Length, Filter = p };
            return (int)syscall(SyscallNumber(317, 277), SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, (nint)(&prog));
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }
}
