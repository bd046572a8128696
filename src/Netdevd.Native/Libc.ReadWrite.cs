using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>read(2) into <paramref name="buffer"/>; -1 with errno on failure.</summary>
    public static unsafe nint Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            return read(fd, p, (nuint)buffer.Length);
        }
    }

    /// <summary>write(2) of <paramref name="buffer"/>; -1 with errno on failure.</summary>
    public static unsafe nint Write(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            return write(fd, p, (nuint)buffer.Length);
        }
    }

    /// <summary>close(2).</summary>
    public static int Close(int fd) => close(fd);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Library, SetLastError = true)]
    internal static unsafe partial nint readv(int fd, IoVector* iov, int iovcnt);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int close(int fd);
}
