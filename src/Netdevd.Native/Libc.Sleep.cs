using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>usleep(3): a pause finer than Thread.Sleep's milliseconds (a signal may end it early).</summary>
    public static void SleepMicroseconds(int microseconds) => _ = usleep((uint)microseconds);

    [LibraryImport(Library)]
    private static partial int usleep(uint usec);
}
