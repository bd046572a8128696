namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>getsockopt(2) of a structure read as bytes (XDP_MMAP_OFFSETS); returns the length filled, or -1 with errno.</summary>
    public static unsafe int GetSockOpt(int fd, int level, int name, Span<byte> value)
    {
        uint length = (uint)value.Length;
        fixed (byte* p = value)
        {
            return getsockopt(fd, level, name, p, &length) < 0 ? -1 : (int)length;
        }
    }
}
