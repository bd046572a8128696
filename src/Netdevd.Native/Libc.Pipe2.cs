using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>pipe2(2): <paramref name="readEnd"/> and <paramref name="writeEnd"/>, or -1 with errno.</summary>
    public static unsafe int Pipe2(out int readEnd, out int writeEnd, int flags)
    {
        var fds = stackalloc int[2];
        var result = pipe2(fds, flags);
        readEnd = fds[0];
        writeEnd = fds[1];
        return result;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int pipe2(int* fds, int flags);
}
