namespace Netdevd.Native;

public static partial class Libc
{
    /// <summary>send(2) on a connected socket; -1 with errno on failure.</summary>
    public static unsafe nint Send(int fd, ReadOnlySpan<byte> buffer, int flags)
    {
        fixed (byte* data = buffer)
        {
            return SysSendto(fd, data, (nuint)buffer.Length, flags, null, 0);
        }
    }
}
