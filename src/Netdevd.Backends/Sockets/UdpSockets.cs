using System.Net;
using Netdevd.Native;

namespace Netdevd.Backends.Sockets;

/// <summary>
/// The bound unicast UDP socket of dgram's inet pair and of socket's <c>udp=</c> mode: created,
/// SO_REUSEADDR, bound, made non-blocking, with QEMU's texts. Returns the descriptor.
/// </summary>
public static class UdpSockets
{
    public static int CreateBound(IPEndPoint local)
    {
        ArgumentNullException.ThrowIfNull(local);
        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw ErrnoText.Last("can't create datagram socket");
        }

        try
        {
            if (Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1) < 0)
            {
                throw ErrnoText.Last("can't set socket option SO_REUSEADDR");
            }

            if (Libc.Bind(fd, SockAddr.Inet(local)) < 0)
            {
                throw ErrnoText.Last($"can't bind ip={local.Address} to socket");
            }

            var e = Descriptors.TrySetNonBlocking(fd);
            if (e != 0)
            {
                throw ErrnoText.Error("can't set non-blocking mode", e);
            }

            return fd;
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }
}
