using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>What the datagram error tests look at from outside: a socket's pending poll condition, a thread's CPU time.</summary>
internal static class SocketConditions
{
    /// <summary>The error/hang-up bits poll reports for <paramref name="fd"/> right now (0: none).</summary>
    public static short PendingCondition(int fd)
    {
        Span<PollFd> one = [new PollFd { Fd = fd, Events = 0 }];
        return Libc.Poll(one, 0) > 0 ? one[0].Revents : (short)0;
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the socket to stop reporting POLLERR.</summary>
    public static async Task<bool> ErrorClears(int fd, int timeoutMs = 3000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while ((PendingCondition(fd) & Libc.POLLERR) != 0)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        return true;
    }

    /// <summary>A loopback UDP port that nothing listens on (ICMP port unreachable answers datagrams to it).</summary>
    public static int ClosedUdpPort(AddressFamily family = AddressFamily.InterNetwork)
    {
        using var s = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>shutdown(SHUT_RDWR) on a descriptor we do not own: it then reports POLLHUP for good.</summary>
    public static void ShutDown(int fd)
    {
        using var s = new Socket(new SafeSocketHandle(fd, ownsHandle: false));
        try
        {
            s.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // An unconnected datagram socket answers ENOTCONN but is shut down all the same.
        }
    }

    /// <summary>User plus system CPU time (clock ticks, 100 per second) of this process's thread named <paramref name="name"/>.</summary>
    /// <summary>
    /// How many of <paramref name="samples"/> looks at the thread named <paramref name="name"/>
    /// (/proc/self/task/TID/syscall, about every 200 us) found it blocked in a system call other
    /// than the poll an I/O thread should wait in (x86_64 poll 7, ppoll 271, epoll_wait 232,
    /// epoll_pwait 281): Thread.Sleep, for one, waits in futex (202). Counts where the thread
    /// waits, not how long anything takes, so a loaded machine does not change the answer.
    /// </summary>
    public static int BlockedOutsidePoll(string name, int samples)
    {
        var task = Directory.GetDirectories("/proc/self/task")
            .First(t => File.ReadAllText(Path.Combine(t, "comm")).TrimEnd('\n') == name);
        var blocked = 0;
        for (var i = 0; i < samples; i++)
        {
            var number = File.ReadAllText(Path.Combine(task, "syscall")).Split(' ', 2)[0].TrimEnd('\n');
            if (number is not ("running" or "7" or "271" or "232" or "281"))
            {
                blocked++;
            }

            Thread.Sleep(TimeSpan.FromMicroseconds(200));
        }

        return blocked;
    }

    public static long ThreadCpuTicks(string name)
    {
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            string comm, stat;
            try
            {
                comm = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended meanwhile
            }

            if (comm != name)
            {
                continue;
            }

            // Fields after "(comm)": state is field 3, utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }

        throw new InvalidOperationException($"no thread named {name}");
    }
}
