namespace Netdevd.Native;

public static partial class Libc
{
    public const int MSG_ERRQUEUE = 0x2000;
    public const int IP_RECVERR = 11;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_RECVERR = 25;

    /// <summary>
    /// Takes one entry off a socket's error queue (recvmsg with MSG_ERRQUEUE, without waiting):
    /// where IP_RECVERR/IPV6_RECVERR or timestamping is on, ICMP errors and the like queue there
    /// and keep the socket reporting POLLERR until read; SO_ERROR does not clear them. Returns the
    /// entry's errno (ee_errno of its sock_extended_err; 0 if it carried none), or -1 with errno
    /// (<see cref="Errno.Last"/>; EAGAIN when the queue is empty).
    /// </summary>
    public static unsafe int RecvErrorQueue(int fd)
    {
        // The offending datagram's start is returned as data: it is of no interest, so a few
        // bytes of room are enough (the rest is cut, MSG_TRUNC). The control part holds one
        // cmsghdr (16 bytes) and a sock_extended_err (16) plus the offender's address (up to 28).
        const int ControlRoom = 128;
        var data = stackalloc byte[16];
        var control = stackalloc byte[ControlRoom];
        var iov = new IoVector(data, 16);
        var message = new MessageHeader
        {
            Iov = &iov,
            IovLength = 1,
            Control = control,
            ControlLength = ControlRoom,
        };
        if (RecvMsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
        {
            return -1;
        }

        var length = (int)message.ControlLength;
        var offset = 0;
        while (offset + 16 <= length)
        {
            var cmsgLength = (int)*(nuint*)(control + offset);
            if (cmsgLength < 16 || offset + cmsgLength > length)
            {
                break;
            }

            var level = *(int*)(control + offset + 8);
            var type = *(int*)(control + offset + 12);
            var isExtendedError = (level == IPPROTO_IP && type == IP_RECVERR) || (level == IPPROTO_IPV6 && type == IPV6_RECVERR);
            if (isExtendedError && cmsgLength >= 16 + 4)
            {
                return *(int*)(control + offset + 16);
            }

            offset += (cmsgLength + 7) & ~7;
        }

        return 0;
    }
}
