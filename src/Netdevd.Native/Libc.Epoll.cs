using System.Runtime.InteropServices;

namespace Netdevd.Native;

/// <summary>struct epoll_event as x86-64 lays it out (packed: 4-byte events, 8-byte data, 12 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct EpollEvent
{
    public uint Events;
    public ulong Data;
}

public static partial class Libc
{
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLONESHOT = 0x40000000;
    public const uint EPOLLET = 0x80000000;

    /// <summary>epoll_create1(2).</summary>
    public static int EpollCreate(int flags) => epoll_create1(flags);

    /// <summary>epoll_ctl(2) with <paramref name="data"/> as the event's user data.</summary>
    public static unsafe int EpollCtl(int epfd, int op, int fd, uint events, ulong data)
    {
        var e = new EpollEvent { Events = events, Data = data };
        return epoll_ctl(epfd, op, fd, &e);
    }

    /// <summary>epoll_wait(2) into <paramref name="events"/>; <paramref name="timeoutMs"/> -1 waits.</summary>
    public static unsafe int EpollWait(int epfd, Span<EpollEvent> events, int timeoutMs)
    {
        fixed (EpollEvent* p = events)
        {
            return epoll_wait(epfd, p, events.Length, timeoutMs);
        }
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);
}
