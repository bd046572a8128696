using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>getrlimit(2) RLIMIT_NOFILE: the soft limit on this process's open descriptors (long.MaxValue when unknown or unlimited).</summary>
    public static long OpenFileLimit() =>
        getrlimit(RLIMIT_NOFILE, out var limit) == 0 && limit.Current < long.MaxValue ? (long)limit.Current : long.MaxValue;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);
}
