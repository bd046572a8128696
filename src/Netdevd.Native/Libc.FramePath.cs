using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>
/// The calls a frame makes on its way through (the epoll wait that wakes the I/O thread, the tap's
/// read and write, the stream netdev's header-and-frame writev): each returns its result, or the
/// negated errno on failure, like the kernel's own convention. errno is read straight after the
/// call, and only when it failed. The <c>SetLastError</c> route of the other imports clears errno
/// before every call and copies it into a thread static after every call, failed or not: about a
/// hundred instructions and a few cache lines per call, which a request and its answer (four
/// calls) pay cold. The read is as safe as that route's: both take errno after the call has
/// returned to managed code.
/// </summary>
public static partial class Libc
{
    /// <summary>preadv2's flag: fail with EAGAIN rather than wait.</summary>
    public const int RWF_NOWAIT = 0x08;

    /// <summary>epoll_wait(2) into <paramref name="events"/> (timeout in ms, -1 for none): the ready count, or -errno.</summary>
    public static unsafe int EpollWaitOrErrno(int epfd, Span<EpollEvent> events, int timeoutMs)
    {
        fixed (EpollEvent* p = events)
        {
            var n = epoll_wait_plain(epfd, p, events.Length, timeoutMs);
            return n >= 0 ? n : -Marshal.GetLastSystemError();
        }
    }

    /// <summary>read(2) into <paramref name="buffer"/>: the count, or -errno.</summary>
    public static unsafe nint ReadOrErrno(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = read_plain(fd, p, (nuint)buffer.Length);
            return n >= 0 ? n : -Marshal.GetLastSystemError();
        }
    }

    /// <summary>
    /// preadv2(2) of the current position with RWF_NOWAIT: a read that does not wait whether or not
    /// the descriptor has O_NONBLOCK (EAGAIN when there is nothing). The count, or -errno;
    /// -EOPNOTSUPP where the file does not honour the flag (checked before anything is read).
    /// </summary>
    public static unsafe nint ReadNoWaitOrErrno(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var vector = new IoVector(p, buffer.Length);
            var n = preadv2_plain(fd, &vector, 1, -1, RWF_NOWAIT);
            return n >= 0 ? n : -Marshal.GetLastSystemError();
        }
    }

    /// <summary>write(2) of <paramref name="buffer"/>: the count, or -errno.</summary>
    public static unsafe nint WriteOrErrno(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = write_plain(fd, p, (nuint)buffer.Length);
            return n >= 0 ? n : -Marshal.GetLastSystemError();
        }
    }

    /// <summary>writev(2) of two pieces (a header and a payload): the count, or -errno.</summary>
    public static nint WriteVOrErrno(int fd, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second) =>
        WriteVOrErrno(fd, first, second, default, default);

    /// <summary>
    /// writev(2) of up to four pieces, the empty ones left out (a frame's headers and its payload
    /// where a ring wraps, behind a header of the descriptor's own): the count, or -errno.
    /// </summary>
    public static unsafe nint WriteVOrErrno(int fd, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> third, ReadOnlySpan<byte> fourth)
    {
        fixed (byte* a = first)
        fixed (byte* b = second)
        fixed (byte* c = third)
        fixed (byte* d = fourth)
        {
            var iov = stackalloc IoVector[4];
            var count = 0;
            if (!first.IsEmpty)
            {
                iov[count++] = new IoVector(a, first.Length);
            }

            if (!second.IsEmpty)
            {
                iov[count++] = new IoVector(b, second.Length);
            }

            if (!third.IsEmpty)
            {
                iov[count++] = new IoVector(c, third.Length);
            }

            if (!fourth.IsEmpty)
            {
                iov[count++] = new IoVector(d, fourth.Length);
            }

            var n = writev_plain(fd, iov, count);
            return n >= 0 ? n : -Marshal.GetLastSystemError();
        }
    }

    [LibraryImport(Library, EntryPoint = "epoll_wait")]
    private static unsafe partial int epoll_wait_plain(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport(Library, EntryPoint = "read")]
    private static unsafe partial nint read_plain(int fd, byte* buf, nuint count);

    [LibraryImport(Library, EntryPoint = "preadv2")]
    private static unsafe partial nint preadv2_plain(int fd, IoVector* iov, int iovcnt, long offset, int flags);

    [LibraryImport(Library, EntryPoint = "write")]
    private static unsafe partial nint write_plain(int fd, byte* buf, nuint count);

    [LibraryImport(Library, EntryPoint = "writev")]
    private static unsafe partial nint writev_plain(int fd, IoVector* iov, int iovcnt);
}
