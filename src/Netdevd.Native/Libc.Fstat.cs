using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    // struct stat is 144 bytes on x86-64 and 128 on arm64; st_size is at offset 48 on both.
    private const int StatBufferSize = 256;
    private const int StatSizeOffset = 48;

    /// <summary>fstat(2)'s st_size: the bytes a memfd or regular file holds; false with errno.</summary>
    public static unsafe bool FileSize(SafeHandle fd, out long size)
    {
        ArgumentNullException.ThrowIfNull(fd);
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            var buffer = stackalloc byte[StatBufferSize];
            if (fstat((int)fd.DangerousGetHandle(), buffer) != 0)
            {
                size = 0;
                return false;
            }

            size = *(long*)(buffer + StatSizeOffset);
            return true;
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int fstat(int fd, byte* buffer);
}
