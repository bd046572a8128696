using System.Runtime.InteropServices;

namespace Netdevd.Native;

public static partial class Libc
{
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int O_NONBLOCK = 0x800;

    /// <summary>fcntl(2) with an int argument (F_GETFL, F_SETFL, ...); -1 with errno on failure.</summary>
    public static int Fcntl(int fd, int command, int argument) => fcntl(fd, command, argument);

    /// <summary>Clears O_NONBLOCK on <paramref name="fd"/> if it is set; a failing fcntl leaves it as it was.</summary>
    public static void SetBlocking(SafeHandle fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            _ = TrySetBlocking((int)fd.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    /// <summary>Clears O_NONBLOCK on <paramref name="fd"/> if it is set: 0, or the errno of the failing fcntl.</summary>
    public static int TrySetBlocking(int fd)
    {
        var flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        if ((flags & O_NONBLOCK) != 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        return 0;
    }

    [LibraryImport(Library, SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);
}
