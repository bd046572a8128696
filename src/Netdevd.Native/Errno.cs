namespace Netdevd.Native;

/// <summary>The Linux errno values the code acts on, and strerror texts for messages.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int ENOTTY = 25;
    public const int EPIPE = 32;
    public const int EPROTO = 71;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;
    public const int EMSGSIZE = 90;
    public const int ENOTSOCK = 88;
    public const int EADDRINUSE = 98;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETUNREACH = 101;
    public const int ECONNABORTED = 103;
    public const int ENOBUFS = 105;
    public const int ECONNRESET = 104;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EHOSTUNREACH = 113;
    public const int EINPROGRESS = 115;
    public const int ECANCELED = 125;

    /// <summary>The errno of the last failed call made through <see cref="Libc"/> on this thread.</summary>
    public static int Last => System.Runtime.InteropServices.Marshal.GetLastPInvokeError();

    /// <summary>
    /// Whether a send failed because the host has no way to the destination (no route to its
    /// network or host, an address it cannot send to or from), as opposed to a loss the sender
    /// may simply retry (a full buffer): what a NAT tells its guest with a destination unreachable.
    /// </summary>
    public static bool IsNoRoute(int errno) => errno is ENETUNREACH or EHOSTUNREACH or EADDRNOTAVAIL;

    /// <summary>The C library's text for an errno, as QEMU's error_setg_errno appends it.</summary>
    public static string Message(int errno) => Libc.StrError(errno);
}
