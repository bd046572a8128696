namespace Netdevd.Native;

public static partial class Libc
{
    public const int MSG_ERRQUEUE = 0x2000;
    public const int IP_RECVERR = 11;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_RECVERR = 25;
    public const int IP_RECVTTL = 12;
    public const int IPV6_RECVHOPLIMIT = 51;
    private const int IPV6_HOPLIMIT = 52;

    /// <summary>
    /// Takes one entry off a socket's error queue (recvmsg with MSG_ERRQUEUE, without waiting):
    /// where IP_RECVERR/IPV6_RECVERR or timestamping is on, ICMP errors and the like queue there
    /// and keep the socket reporting POLLERR until read; SO_ERROR does not clear them. Returns the
    /// entry's errno (ee_errno of its sock_extended_err; 0 if it carried none), or -1 with errno
    /// (<see cref="Errno.Last"/>; EAGAIN when the queue is empty).
    /// </summary>
    public static int RecvErrorQueue(int fd)
    {
        // The offending datagram's start is returned as data: it is of no interest here, so a few
        // bytes of room are enough (the rest is cut, MSG_TRUNC).
        Span<byte> data = stackalloc byte[16];
        return ReadErrorQueue(fd, data, default, default, out var error) ? error.Errno : -1;
    }

    /// <summary>
    /// Takes one entry off the error queue with all it says (<see cref="ExtendedSocketError"/>): for
    /// an ICMP error, the start of the datagram that caused it in <paramref name="data"/> (its
    /// payload, as sent; cut to the span), that datagram's destination, a sockaddr, in
    /// <paramref name="name"/>, and the sockaddr of the host that sent the error in
    /// <paramref name="offender"/> (its family AF_UNSPEC when the kernel knows none); the lengths
    /// read are in the result. False, with errno, when nothing was read (EAGAIN: the queue is empty).
    /// </summary>
    public static unsafe bool ReadErrorQueue(int fd, Span<byte> data, Span<byte> name, Span<byte> offender, out ExtendedSocketError error)
    {
        // The control part holds one cmsghdr (16 bytes) and a sock_extended_err (16) plus the
        // offender's address (up to 28).
        const int ControlRoom = 128;
        error = default;
        var control = stackalloc byte[ControlRoom];
        var received = RecvWithControl(fd, data, name, control, ControlRoom, MSG_ERRQUEUE | MSG_DONTWAIT, out var nameLength, out var controlLength);
        if (received < 0)
        {
            return false;
        }

        error = ExtendedError(control, controlLength, offender) with
        {
            DataLength = (int)Math.Min(received, data.Length),
            NameLength = Math.Min(nameLength, name.Length),
        };
        return true;
    }

    /// <summary>
    /// The IP_RECVERR/IPV6_RECVERR message among the control messages (all zero: none), its
    /// offender's sockaddr copied to <paramref name="offender"/> as far as it fits, with the ICMP
    /// message's TTL or hop limit when a control message gives it.
    /// </summary>
    private static unsafe ExtendedSocketError ExtendedError(byte* control, int length, Span<byte> offender)
    {
        // struct sock_extended_err: u32 ee_errno, u8 ee_origin, u8 ee_type, u8 ee_code, u8 pad,
        // u32 ee_info, u32 ee_data; the offender's sockaddr follows it (SO_EE_OFFENDER).
        const int ExtendedErrorLength = 16;
        ExtendedSocketError error = default;
        byte ttl = 0;
        for (var message = new ControlMessages(control, length); message.MoveNext();)
        {
            var isExtendedError = (message.Level == IPPROTO_IP && message.Type == IP_RECVERR) || (message.Level == IPPROTO_IPV6 && message.Type == IPV6_RECVERR);
            if (isExtendedError && message.DataLength >= ExtendedErrorLength)
            {
                var ee = message.Data;
                var offenderRoom = Math.Min(message.DataLength - ExtendedErrorLength, offender.Length);
                new ReadOnlySpan<byte>(ee + ExtendedErrorLength, offenderRoom).CopyTo(offender);
                error = new ExtendedSocketError(*(int*)ee, ee[4], ee[5], ee[6], 0, 0, offenderRoom);
            }
            else if (isExtendedError && message.DataLength >= 4)
            {
                error = new ExtendedSocketError(*(int*)message.Data, 0, 0, 0, 0, 0, 0);
            }
            else if (TryReadTtl(message, out var value))
            {
                ttl = value;
            }
        }

        return error with { Ttl = ttl };
    }

    /// <summary>
    /// recvfrom, and the TTL (IPv6: hop limit) the datagram arrived with when the socket asked for
    /// it (IP_RECVTTL, IPV6_RECVHOPLIMIT); <paramref name="ttl"/> 0 when no control message gave it.
    /// </summary>
    public static unsafe nint RecvFromWithTtl(int fd, Span<byte> buffer, int flags, Span<byte> address, out int addressLength, out byte ttl)
    {
        // One cmsghdr (16 bytes) and an int, twice over for room.
        const int ControlRoom = 64;
        var control = stackalloc byte[ControlRoom];
        ttl = 0;
        var received = RecvWithControl(fd, buffer, address, control, ControlRoom, flags, out addressLength, out var length);
        for (var message = new ControlMessages(control, length); message.MoveNext();)
        {
            if (TryReadTtl(message, out var value))
            {
                ttl = value;
            }
        }

        return received;
    }

    /// <summary>recvmsg(2) into one buffer, with the sender's address and the control messages (their lengths as read).</summary>
    private static unsafe nint RecvWithControl(int fd, Span<byte> data, Span<byte> name, byte* control, int controlRoom, int flags, out int nameLength, out int controlLength)
    {
        fixed (byte* d = data)
        fixed (byte* n = name)
        {
            var iov = new IoVector(d, data.Length);
            var message = new MessageHeader
            {
                Name = n,
                NameLength = (uint)name.Length,
                Iov = &iov,
                IovLength = 1,
                Control = control,
                ControlLength = (nuint)controlRoom,
            };
            var received = RecvMsg(fd, &message, flags);
            nameLength = (int)message.NameLength;
            controlLength = received < 0 ? 0 : (int)message.ControlLength;
            return received;
        }
    }

    /// <summary>An IP_TTL or IPV6_HOPLIMIT control message's value (an int).</summary>
    private static unsafe bool TryReadTtl(in ControlMessages message, out byte ttl)
    {
        var isTtl = ((message.Level == IPPROTO_IP && message.Type == IP_TTL) || (message.Level == IPPROTO_IPV6 && message.Type == IPV6_HOPLIMIT)) &&
            message.DataLength >= 4;
        ttl = isTtl ? (byte)Math.Clamp(*(int*)message.Data, 0, 255) : (byte)0;
        return isTtl;
    }
}
