using Netdevd.Native;

namespace Netdevd.Backends.Dgram;

/// <summary>
/// What stands behind POLLERR/POLLHUP on a datagram socket: asking the kernel (a zero-timeout
/// poll), and reading what is pending so the condition clears (SO_ERROR, the error queue).
/// </summary>
internal static class DatagramSocketErrors
{
    private const short ConditionMask = Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL;

    /// <summary>The error, hang-up and invalid-descriptor bits the socket reports right now (0: none).</summary>
    public static short Condition(int fd)
    {
        Span<PollFd> one = [new PollFd { Fd = fd, Events = 0 }];
        return Libc.Poll(one, 0) > 0 ? (short)(one[0].Revents & ConditionMask) : (short)0;
    }

    /// <summary>
    /// Reads the pending socket error (SO_ERROR) and up to <paramref name="max"/> entries of the
    /// error queue (IP sockets only: elsewhere MSG_ERRQUEUE would take a datagram). Returns the
    /// errno of the last one read; <paramref name="taken"/> says how many there were.
    /// </summary>
    public static int TakePending(int fd, bool hasErrorQueue, int max, out int taken)
    {
        taken = 0;
        var last = 0;
        if (Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_ERROR, out var error) == 0 && error != 0)
        {
            taken++;
            last = error;
        }

        // With IP_RECVERR every ICMP error also waits on the error queue, which SO_ERROR leaves
        // alone: until it is read the socket reports POLLERR.
        while (hasErrorQueue && taken < max)
        {
            var queued = Libc.RecvErrorQueue(fd);
            if (queued < 0)
            {
                break;
            }

            taken++;
            last = queued != 0 ? queued : last;
        }

        return last;
    }

    /// <summary>Words for a log line.</summary>
    public static string Describe(short condition) =>
        (condition & Libc.POLLNVAL) != 0 ? "an invalid descriptor (POLLNVAL)"
        : (condition & Libc.POLLHUP) != 0 ? "a hang-up (POLLHUP)"
        : "an error (POLLERR)";
}
