using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>getrlimit(2) RLIMIT_NOFILE: the soft limit on this process's open descriptors (long.MaxValue when unknown or unlimited).</summary>
    public static long OpenFileLimit() =>
        getrlimit(RLIMIT_NOFILE, out var limit) == 0 && limit.Current < long.MaxValue ? (long)limit.Current : long.MaxValue;

    /// <summary>
    /// Raises the soft RLIMIT_NOFILE to the hard one and returns the soft limit now (unchanged when
    /// it could not be raised). A daemon holding a socket per flow must not run out at the 1024 a
    /// login session's soft limit usually is: the .NET runtime raises it for JIT processes, but a
    /// NativeAOT binary starts with the soft limit it was given, and once descriptors run out the
    /// runtime cannot even start a thread (it aborts).
    /// </summary>
    public static long RaiseOpenFileLimit()
    {
        if (getrlimit(RLIMIT_NOFILE, out var limit) == 0 && limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            _ = setrlimit(RLIMIT_NOFILE, in raised);
        }

        return OpenFileLimit();
    }

    /// <summary>setrlimit(2) RLIMIT_NOFILE's soft limit alone (tests: a process started with a low one).</summary>
    public static int SetOpenFileLimit(long soft)
    {
        if (getrlimit(RLIMIT_NOFILE, out var limit) != 0)
        {
            return -1;
        }

        var lowered = limit with { Current = (ulong)soft };
        return setrlimit(RLIMIT_NOFILE, in lowered);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);
}
