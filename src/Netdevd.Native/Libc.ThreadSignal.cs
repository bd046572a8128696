using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    private const int SIG_UNBLOCK = 1;

    /// <summary>gettid(2): the kernel's id of the calling thread.</summary>
    public static int ThreadId() => gettid();

    /// <summary>tgkill(2) of thread <paramref name="tid"/> of this process: 0, or -errno.</summary>
    public static int SignalThread(int tid, int signal) => tgkill(Environment.ProcessId, tid, signal) == 0 ? 0 : -Marshal.GetLastSystemError();

    /// <summary>The highest real-time signal glibc leaves to programs (SIGRTMAX).</summary>
    public static int RealTimeSignalMax() => libc_current_sigrtmax();

    /// <summary>Unblocks <paramref name="signal"/> for the calling thread (a mask inherited through exec may block it): 0, or the errno.</summary>
    public static unsafe int UnblockSignal(int signal)
    {
        // sigset_t is 128 bytes; signal n is bit n-1.
        var set = stackalloc ulong[16];
        new Span<ulong>(set, 16).Clear();
        set[(signal - 1) / 64] = 1UL << ((signal - 1) % 64);
        return pthread_sigmask(SIG_UNBLOCK, set, null);
    }

    [LibraryImport(Library)]
    private static partial int gettid();

    [LibraryImport(Library, SetLastError = true)]
    private static partial int tgkill(int tgid, int tid, int sig);

    [LibraryImport(Library, EntryPoint = "__libc_current_sigrtmax")]
    private static partial int libc_current_sigrtmax();

    [LibraryImport(Library)]
    private static unsafe partial int pthread_sigmask(int how, ulong* set, ulong* oldset);
}
