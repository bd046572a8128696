using System.Net;
using Netdevd.Native;
using Netdevd.UserNet.Host;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// pasta's splice for -t: a connection to a forwarded port from a client on the host's loopback
/// goes to the same port on the namespace's loopback (127.0.0.1, or ::1 for an IPv6 client), as
/// two sockets joined by splice(2), with no tap and no TCP stack of ours in between: what pasta's
/// users get and rely on (a server in the namespace bound to its loopback only is reachable from
/// the host's). When nothing listens there, the connection goes through the user netdev to the
/// namespace's address instead, so a server bound to that address alone is reached as before.
/// Not a frame path: a thread per direction per connection, blocking on splice.
/// </summary>
internal sealed class LoopbackSplice : ILoopbackSplice, IDisposable
{
    /// <summary>Bytes moved per splice and the pipe between the two sockets (pasta uses large pipes too).</summary>
    private const int Chunk = 1 << 20;

    private readonly int _netns;
    private int _disposed;

    private LoopbackSplice(int netns)
    {
        _netns = netns;
    }

    /// <summary>Opens the namespace at <paramref name="netnsPath"/>; throws <see cref="IOException"/> with why not.</summary>
    public static LoopbackSplice Open(string netnsPath)
    {
        var fd = Libc.Open(netnsPath, Libc.O_RDONLY | Libc.O_CLOEXEC);
        return fd < 0 ? throw new IOException($"{netnsPath}: {Errno.Message(Errno.Last)}") : new LoopbackSplice(fd);
    }

    public bool TrySplice(int fd, bool ipv6, int guestPort)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return false;
        }

        // The namespace's socket is made and connected on a thread that joined the namespace
        // (a socket belongs to the namespace it was made in); that thread then relays one
        // direction. A connect to a loopback port answers at once: refused, or accepted.
        var connected = -1;
        using var ready = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            var inner = ConnectInNamespace(ipv6, guestPort);
            connected = inner;
            ready.Set();
            if (inner >= 0)
            {
                Relay(fd, inner);
            }
        }) { IsBackground = true, Name = "pasta splice" };
        thread.Start();
        ready.Wait();
        return connected >= 0;
    }

    /// <summary>A blocking socket connected to [loopback]:port in the namespace, or -1.</summary>
    private int ConnectInNamespace(bool ipv6, int port)
    {
        if (Libc.SetNs(_netns, Libc.CLONE_NEWNET) < 0)
        {
            return -1;
        }

        var fd = Libc.Socket(ipv6 ? Libc.AF_INET6 : Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            return -1;
        }

        // The user netdev's thread waits for this: a listener whose backlog is full would hold a
        // blocking connect for minutes of SYN retries, so it gets a second (then the tap's path).
        Span<byte> timeout = stackalloc byte[16];
        timeout.Clear();
        timeout[0] = 1; // struct timeval { tv_sec = 1, tv_usec = 0 }
        _ = Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_SNDTIMEO, timeout);
        var target = ipv6 ? SockAddr.Inet6(new IPEndPoint(IPAddress.IPv6Loopback, port)) : SockAddr.Inet(new IPEndPoint(IPAddress.Loopback, port));
        if (Libc.Connect(fd, target) < 0)
        {
            Libc.Close(fd);
            return -1;
        }

        timeout.Clear();
        _ = Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_SNDTIMEO, timeout); // no timeout for the relay's splices

        _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        return fd;
    }

    /// <summary>Relays both directions until both ended, then closes both sockets (on this thread and one more).</summary>
    private static void Relay(int host, int inner)
    {
        // Blocking from here on: each direction's thread sleeps in splice.
        _ = Libc.Fcntl(host, Libc.F_SETFL, Libc.Fcntl(host, Libc.F_GETFL, 0) & ~Libc.O_NONBLOCK);
        var back = new Thread(() => Pump(inner, host)) { IsBackground = true, Name = "pasta splice" };
        back.Start();
        Pump(host, inner);
        back.Join();
        Libc.Close(host);
        Libc.Close(inner);
    }

    /// <summary>
    /// One direction through a pipe, until <paramref name="from"/> ends (then <paramref name="to"/>'s
    /// sending side is shut, as a FIN passes) or fails (then both are shut, which ends the other direction too).
    /// </summary>
    private static void Pump(int from, int to)
    {
        if (Libc.Pipe2(out var pipeRead, out var pipeWrite, Libc.O_CLOEXEC) < 0)
        {
            Abort(from, to);
            return;
        }

        _ = Libc.Fcntl(pipeWrite, Libc.F_SETPIPE_SZ, Chunk);
        try
        {
            while (true)
            {
                var n = Libc.Splice(from, pipeWrite, Chunk, Libc.SPLICE_F_MOVE);
                if (n == 0)
                {
                    _ = Libc.Shutdown(to, Libc.SHUT_WR);
                    return;
                }

                if (n < 0)
                {
                    if (Errno.Last == Errno.EINTR)
                    {
                        continue;
                    }

                    Abort(from, to);
                    return;
                }

                while (n > 0)
                {
                    var m = Libc.Splice(pipeRead, to, (nuint)n, Libc.SPLICE_F_MOVE);
                    if (m <= 0)
                    {
                        if (m < 0 && Errno.Last == Errno.EINTR)
                        {
                            continue;
                        }

                        Abort(from, to);
                        return;
                    }

                    n -= m;
                }
            }
        }
        finally
        {
            Libc.Close(pipeRead);
            Libc.Close(pipeWrite);
        }
    }

    /// <summary>A reset or error on one side: end both directions (the other thread's splice returns).</summary>
    private static void Abort(int a, int b)
    {
        _ = Libc.SetAbortiveClose(b);
        _ = Libc.Shutdown(a, Libc.SHUT_RDWR);
        _ = Libc.Shutdown(b, Libc.SHUT_RDWR);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Libc.Close(_netns);
        }
    }
}
