namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>readv(2) into a header and a payload buffer in one call (a tap's virtio-net header and frame).</summary>
    public static unsafe nint ReadV(int fd, Span<byte> first, Span<byte> second)
    {
        fixed (byte* a = first)
        fixed (byte* b = second)
        {
            var iov = stackalloc IoVector[2];
            iov[0] = new IoVector(a, first.Length);
            iov[1] = new IoVector(b, second.Length);
            return readv(fd, iov, 2);
        }
    }
}
