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

    /// <summary>writev(2) of two pieces (a header and a payload) in one call.</summary>
    public static unsafe nint WriteV(int fd, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        fixed (byte* a = first)
        fixed (byte* b = second)
        {
            var iov = stackalloc IoVector[2];
            iov[0] = new IoVector(a, first.Length);
            iov[1] = new IoVector(b, second.Length);
            return writev(fd, iov, 2);
        }
    }

    /// <summary>close(2).</summary>
    public static int Close(int fd) => close(fd);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Library, SetLastError = true)]
    internal static unsafe partial nint writev(int fd, IoVector* iov, int iovcnt);

    [LibraryImport(Library, SetLastError = true)]
    internal static unsafe partial nint readv(int fd, IoVector* iov, int iovcnt);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int close(int fd);
}
