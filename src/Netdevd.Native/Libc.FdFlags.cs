namespace Netdevd.Native;

public static partial class Libc
{
    // fcntl(2) commands on the descriptor flags (not the file status flags of Libc.Fcntl.cs).
    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;

    /// <summary>Sets or clears close-on-exec, so a descriptor can be handed to one child process on purpose.</summary>
    public static int SetCloseOnExec(int fd, bool on)
    {
        var flags = Fcntl(fd, F_GETFD, 0);
        if (flags < 0)
        {
            return -1;
        }

        return Fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
    }
}
