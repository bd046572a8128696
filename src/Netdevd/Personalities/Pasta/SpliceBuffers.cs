using Netdevd.Native;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// Socket buffers of spliced connections as pasta sets them: as large as net.core.rmem_max and
/// wmem_max let a socket have, so each splice moves more per call and the writer waits less
/// for room. Only where those limits are generous (probed once, as pasta does): a fixed
/// SO_RCVBUF turns the kernel's autotuning off for good, and a small fixed one would be worse
/// than autotuning.
/// </summary>
internal static class SpliceBuffers
{
    /// <summary>Below these (pasta's thresholds), the kernel's autotuning is left alone.</summary>
    private const int BigReceive = 2 << 20;
    private const int BigSend = 4 << 20;

    /// <summary>The kernel clamps to its limits; asking for this much means "the most allowed".</summary>
    private const int Largest = int.MaxValue / 2;

    private static readonly Lazy<(bool Receive, bool Send)> Allowed = new(Probe);

    /// <summary>Sets <paramref name="fd"/>'s buffers to the most allowed, where that is large.</summary>
    public static void Enlarge(int fd)
    {
        var (receive, send) = Allowed.Value;
        if (receive)
        {
            _ = Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, Largest);
        }

        if (send)
        {
            _ = Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, Largest);
        }
    }

    private static (bool, bool) Probe()
    {
        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            return (false, false);
        }

        try
        {
            return (Grants(fd, Libc.SO_RCVBUF, BigReceive), Grants(fd, Libc.SO_SNDBUF, BigSend));
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static bool Grants(int fd, int option, int atLeast) =>
        Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, option, Largest) == 0
        && Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, option, out var got) == 0
        && got >= atLeast;
}
