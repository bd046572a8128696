using Netdevd.Native;

namespace Netdevd.Backends.Sockets;

/// <summary>Small descriptor operations the socket setups share.</summary>
public static class Descriptors
{
    /// <summary>qemu_socket_try_set_nonblock: 0, or the errno of the failing fcntl.</summary>
    public static int TrySetNonBlocking(int fd)
    {
        var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        if (flags < 0)
        {
            return Errno.Last;
        }

        if ((flags & Libc.O_NONBLOCK) == 0 && Libc.Fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) < 0)
        {
            return Errno.Last;
        }

        return 0;
    }

    /// <summary>Clears O_NONBLOCK: 0, or the errno of the failing fcntl.</summary>
    public static int TrySetBlocking(int fd)
    {
        var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        if (flags < 0)
        {
            return Errno.Last;
        }

        if ((flags & Libc.O_NONBLOCK) != 0 && Libc.Fcntl(fd, Libc.F_SETFL, flags & ~Libc.O_NONBLOCK) < 0)
        {
            return Errno.Last;
        }

        return 0;
    }

    /// <summary>Closes a descriptor we own, keeping the errno of the failure being reported.</summary>
    public static void CloseQuietly(int fd)
    {
        if (fd >= 0)
        {
            _ = Libc.Close(fd);
        }
    }
}
