using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>ioctl(2) whose argument is an integer passed by value (TUNSETOFFLOAD, TUNSETPERSIST).</summary>
    public static int IoctlValue(int fd, uint request, nint argument) => ioctl(fd, (nuint)request, argument);

    /// <summary>ioctl(2) whose argument points at a buffer (struct ifreq, an int to read or write).</summary>
    public static unsafe int IoctlBuffer(int fd, uint request, Span<byte> argument)
    {
        fixed (byte* p = argument)
        {
            return ioctl(fd, (nuint)request, (nint)p);
        }
    }

    // The request is an unsigned long in glibc's prototype; the argument a pointer-sized word.
    [LibraryImport(Library, SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, nint argument);
}
