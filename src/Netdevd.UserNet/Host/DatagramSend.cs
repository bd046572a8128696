using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// A non-blocking sendto on a socket with IP_RECVERR/IPV6_RECVERR, past an earlier datagram's ICMP
/// error: that error leaves the socket's pending error set, and the next send returns and clears
/// it without sending (the error itself waits on the error queue, read where the socket reports
/// it). So a failure is tried once more; the second one is this datagram's own.
/// </summary>
internal static class DatagramSend
{
    /// <summary>
    /// Sends <paramref name="datagram"/> to <paramref name="address"/> (a sockaddr). 0 when it went,
    /// or was lost as on a congested network (a full buffer, no memory); else the errno of its own
    /// failure (no route, no such family, ...).
    /// </summary>
    public static int SendTo(int fd, ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> address)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (Libc.SendTo(fd, datagram, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, address) >= 0)
            {
                return 0;
            }

            var errno = Errno.Last;
            if (errno is Errno.EAGAIN or Errno.ENOBUFS or Errno.ENOMEM or Errno.EINTR)
            {
                return 0;
            }

            if (attempt > 0)
            {
                return errno;
            }
        }
    }
}
