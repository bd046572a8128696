using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>pread(2) into <paramref name="buffer"/> at <paramref name="offset"/>; -1 with errno on failure.</summary>
    public static unsafe nint PRead(int fd, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            return pread(fd, p, (nuint)buffer.Length, offset);
        }
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint pread(int fd, byte* buf, nuint count, long offset);
}
