using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    /// <summary>kill(2) of one process by its id (never a group: only children netdevd started).</summary>
    public static int Kill(int pid, int signal)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        return kill(pid, signal);
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
