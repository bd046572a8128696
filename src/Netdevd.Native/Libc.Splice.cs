using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const uint SPLICE_F_MOVE = 1;

    /// <summary>The pipe side of the splice does not block (the socket side follows the socket's O_NONBLOCK).</summary>
    public const uint SPLICE_F_NONBLOCK = 2;
    public const uint SPLICE_F_MORE = 4;

    /// <summary>fcntl F_SETPIPE_SZ: the capacity of a pipe in bytes.</summary>
    public const int F_SETPIPE_SZ = 1031;

    /// <summary>fcntl F_GETPIPE_SZ: the capacity of a pipe in bytes.</summary>
    public const int F_GETPIPE_SZ = 1032;

    /// <summary>
    /// splice(2) of up to <paramref name="length"/> bytes between <paramref name="fdIn"/> and
    /// <paramref name="fdOut"/>, one of them a pipe, at their current offsets (sockets and pipes
    /// have none): pages move without a copy through user space. -1 with errno on failure, 0 at
    /// the end of <paramref name="fdIn"/>.
    /// </summary>
    public static unsafe nint Splice(int fdIn, int fdOut, nuint length, uint flags) => splice(fdIn, null, fdOut, null, length, flags);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial nint splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint len, uint flags);
}
