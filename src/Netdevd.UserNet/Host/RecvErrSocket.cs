using Netdevd.Native;

namespace Netdevd.UserNet.Host;

/// <summary>
/// A host datagram socket (UDP, ping, raw) that hears ICMP errors about what it sent: with
/// IP_RECVERR/IPV6_RECVERR each error waits on the socket's error queue, with the datagram it is
/// about, where its owner reads it when the socket reports an error (without them an unconnected
/// socket hears of no error at all).
/// </summary>
internal static class RecvErrSocket
{
    /// <summary>
    /// Turns the error queue on (best effort: a kernel that refuses leaves the guest to time out),
    /// with the TTL (hop limit) each ICMP error arrived with, so that the error relayed to the
    /// guest arrives with what a router would pass on: one less (tracepath counts the hops back
    /// by it).
    /// </summary>
    public static void Enable(int fd, bool ipv6)
    {
        if (ipv6)
        {
            _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_IPV6, Libc.IPV6_RECVERR, 1);
            _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_IPV6, Libc.IPV6_RECVHOPLIMIT, 1);
        }
        else
        {
            _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_IP, Libc.IP_RECVERR, 1);
            _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_IP, Libc.IP_RECVTTL, 1);
        }
    }

    /// <summary>Turns the error queue off again (what it held is dropped; the TTL reports stay on, unread).</summary>
    public static void Disable(int fd, bool ipv6) =>
        _ = ipv6
            ? Libc.SetSockOptInt(fd, Libc.IPPROTO_IPV6, Libc.IPV6_RECVERR, 0)
            : Libc.SetSockOptInt(fd, Libc.IPPROTO_IP, Libc.IP_RECVERR, 0);

    /// <summary>
    /// A non-blocking sendto past an earlier datagram's ICMP error: that error leaves the socket's
    /// pending error set, and the next send returns and clears it without sending (the error itself
    /// stays on the error queue), so a failure is tried once more; the second is this datagram's own.
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
