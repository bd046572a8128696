using System.Runtime.InteropServices;
using Netdevd.Native;

namespace Netdevd.Personalities.Slirp4netns;

/// <summary>
/// slirp4netns's <c>--enable-seccomp</c>: every system call is allowed except the ones
/// slirp4netns 1.2 blocks (seccompfilter_rules.h: exec, tracing, modules, mounts, namespaces,
/// prctl, kexec, reboot, handles). Blocked calls fail with EPERM rather than killing the process
/// as slirp4netns does, because the .NET runtime calls some of them (prctl names its threads)
/// and must see an error it handles, not die. Calls of another ABI (i386, x32) are refused alike.
/// </summary>
internal static class SeccompPolicy
{
    private const uint AuditArchX8664 = 0xC000003E;
    private const uint AuditArchAarch64 = 0xC00000B7;
    private const uint X32SyscallBit = 0x40000000;

    /// <summary>slirp4netns's list, in its order, as (name, x86_64, aarch64) numbers.</summary>
    private static readonly (string Name, uint X64, uint Arm64)[] Blocked =
    [
        ("execve", 59, 221),
        ("lookup_dcookie", 212, 18),
        ("pidfd_getfd", 438, 438),
        ("ptrace", 101, 117),
        ("process_vm_readv", 310, 270),
        ("process_vm_writev", 311, 271),
        ("delete_module", 176, 106),
        ("finit_module", 313, 273),
        ("init_module", 175, 105),
        ("chroot", 161, 51),
        ("fsconfig", 431, 431),
        ("fsmount", 432, 432),
        ("fsopen", 430, 430),
        ("fspick", 433, 433),
        ("mount", 165, 40),
        ("move_mount", 429, 429),
        ("open_tree", 428, 428),
        ("pivot_root", 155, 41),
        ("umount2", 166, 39),
        ("open_by_handle_at", 304, 265),
        ("execveat", 322, 281),
        ("pidfd_open", 434, 434),
        ("pidfd_send_signal", 424, 424),
        ("prctl", 157, 167),
        ("setns", 308, 268),
        ("unshare", 272, 97),
        ("kexec_file_load", 320, 294),
        ("kexec_load", 246, 104),
        ("reboot", 169, 142),
        ("name_to_handle_at", 303, 264),
    ];

    /// <summary>The filter for this process's architecture; null where netdevd has no system call table.</summary>
    public static SockFilter[]? Program()
    {
        bool x64;
        switch (RuntimeInformation.ProcessArchitecture)
        {
            case Architecture.X64:
                x64 = true;
                break;
            case Architecture.Arm64:
                x64 = false;
                break;
            default:
                return null;
        }

        var deny = new SockFilter(Libc.BPF_RET_K, 0, 0, Libc.SECCOMP_RET_ERRNO | Errno.EPERM);
        var allow = new SockFilter(Libc.BPF_RET_K, 0, 0, Libc.SECCOMP_RET_ALLOW);
        var program = new List<SockFilter>
        {
            // A call of another ABI has other numbers: refuse them all.
            new(Libc.BPF_LD_W_ABS, 0, 0, Libc.SeccompDataArch),
            new(Libc.BPF_JMP_JEQ_K, 1, 0, x64 ? AuditArchX8664 : AuditArchAarch64),
            deny,
            new(Libc.BPF_LD_W_ABS, 0, 0, Libc.SeccompDataNr),
        };
        var checks = Blocked.Length + (x64 ? 1 : 0);
        if (x64)
        {
            // x32 calls carry the x32 bit on the x86_64 architecture value.
            program.Add(new SockFilter(Libc.BPF_JMP_JGE_K, (byte)(checks - 1 + 1), 0, X32SyscallBit));
        }

        for (var i = 0; i < Blocked.Length; i++)
        {
            // Jump over the remaining checks and the allow to the deny at the end.
            var remaining = Blocked.Length - 1 - i;
            program.Add(new SockFilter(Libc.BPF_JMP_JEQ_K, (byte)(remaining + 1), 0, x64 ? Blocked[i].X64 : Blocked[i].Arm64));
        }

        program.Add(allow);
        program.Add(deny);
        return [.. program];
    }

    /// <summary>
    /// Installs the filter on every thread (with no_new_privs, which the kernel requires and
    /// spreads to all threads with it). Null on success, else why not. Nothing can be started
    /// afterwards: execve is blocked.
    /// </summary>
    public static string? Install()
    {
        if (Program() is not { } program)
        {
            return $"--enable-seccomp: netdevd has no system call table for {RuntimeInformation.ProcessArchitecture}";
        }

        if (Libc.Prctl(Libc.PR_SET_NO_NEW_PRIVS, 1, 0) < 0)
        {
            return $"--enable-seccomp: prctl(PR_SET_NO_NEW_PRIVS): {Errno.Message(Errno.Last)}";
        }

        var result = Libc.InstallSeccompFilterAllThreads(program);
        return result switch
        {
            0 => null,
            < 0 => $"--enable-seccomp: seccomp(SECCOMP_SET_MODE_FILTER): {Errno.Message(Errno.Last)}",
            _ => $"--enable-seccomp: thread {result} of this process could not take the filter",
        };
    }
}
