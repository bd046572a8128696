namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>
    /// sendmsg(2) of one datagram made of two pieces (an encapsulation header and the frame),
    /// so the frame is never copied behind its header. <paramref name="destination"/> null
    /// sends on a connected socket. -1 with errno on failure.
    /// </summary>
    public static unsafe nint SendGather(int fd, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, int flags, SockAddr? destination)
    {
        fixed (byte* h = head)
        fixed (byte* b = body)
        fixed (byte* address = destination is null ? default : destination.Bytes.AsSpan())
        {
            var iov = stackalloc IoVector[2];
            iov[0] = new IoVector(h, head.Length);
            iov[1] = new IoVector(b, body.Length);
            var message = new MessageHeader
            {
                Name = address,
                NameLength = destination is null ? 0u : (uint)destination.Bytes.Length,
                Iov = iov,
                IovLength = 2,
            };
            return SendMsg(fd, &message, flags);
        }
    }
}
