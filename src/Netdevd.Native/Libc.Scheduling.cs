using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>sched(7)'s SCHED_IDLE: the thread runs only when nothing else of its core wants it.</summary>
    public const int SCHED_IDLE = 5;

    /// <summary>sched_getaffinity(2) of thread <paramref name="tid"/> (0: the caller) into <paramref name="mask"/>: 0, or -1 with errno.</summary>
    public static int GetAffinity(int tid, Span<byte> mask) => sched_getaffinity(tid, (nint)mask.Length, mask);

    /// <summary>sched_setaffinity(2): thread <paramref name="tid"/> (0: the caller) may run on the cores in <paramref name="mask"/>; 0, or -1 with errno.</summary>
    public static int SetAffinity(int tid, ReadOnlySpan<byte> mask) => sched_setaffinity(tid, (nint)mask.Length, mask);

    /// <summary>sched_setscheduler(2) with priority 0 (the policies that take none, such as <see cref="SCHED_IDLE"/>): 0, or -1 with errno.</summary>
    public static int SetScheduler(int tid, int policy)
    {
        var priority = 0;
        return sched_setscheduler(tid, policy, ref priority);
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int sched_getaffinity(int pid, nint cpusetsize, Span<byte> mask);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nint cpusetsize, ReadOnlySpan<byte> mask);

    // The last parameter is struct sched_param: its one int.
    [LibraryImport(Library, SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, ref int priority);
}
