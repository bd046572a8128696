using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const short POLLIN = 0x001;
    public const short POLLOUT = 0x004;
    public const short POLLERR = 0x008;
    public const short POLLHUP = 0x010;
    public const short POLLNVAL = 0x020;

    /// <summary>poll(2) over <paramref name="fds"/>; timeout in ms, -1 for none.</summary>
    public static unsafe int Poll(Span<PollFd> fds, int timeoutMs)
    {
        fixed (PollFd* p = fds)
        {
            return poll(p, (nuint)fds.Length, timeoutMs);
        }
    }

    [LibraryImport(Library, SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint nfds, int timeout);
}

/// <summary>struct pollfd.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}
