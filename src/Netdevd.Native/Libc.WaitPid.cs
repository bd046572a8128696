using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    private const int WNOHANG = 1;

    /// <summary>
    /// waitpid(2) of one child without blocking: true when it has ended and is now reaped (or is
    /// no child of ours any more), false while it runs. Children started with
    /// <see cref="SpawnWithStdio"/> are not .NET Process objects, so their owner reaps them.
    /// </summary>
    public static unsafe bool TryReap(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        int status;
        var rc = waitpid(pid, &status, WNOHANG);
        return rc != 0;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int waitpid(int pid, int* status, int options);
}
