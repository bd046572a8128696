using System.Net;
using System.Net.Sockets;
using System.Text;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Stream;

/// <summary>
/// QEMU's socket_listen for every SocketAddress kind, backlog 0 as the stream netdev asks,
/// with its error texts. Blocking (name lookups): run it off the monitor's thread.
/// </summary>
internal static class StreamListen
{
    private const int IpProtoMptcp = 262;

    /// <summary>Returns the listening socket; <paramref name="unlinkPath"/> is the socket file to remove on close, if any.</summary>
    public static Socket Listen(QapiSocketAddress address, out string? unlinkPath)
    {
        ArgumentNullException.ThrowIfNull(address);
        unlinkPath = null;
        switch (address.Type)
        {
            case SocketAddressType.Inet:
                return Inet(address.Inet!);
            case SocketAddressType.Unix:
                return Unix(address.Unix!, out unlinkPath);
            case SocketAddressType.Vsock:
                return Vsock(address.Vsock!);
            default:
                return Fd(address.Fd!.Str);
        }
    }

    /// <summary>The sockaddr_un QEMU builds: abstract names start with NUL and are padded to sun_path unless tight.</summary>
    public static EndPoint UnixEndPoint(UnixSocketAddress address, string path)
    {
        if (address.Abstract != true)
        {
            return new UnixDomainSocketEndPoint(path);
        }

        var name = "\0" + path;
        if (address.Tight == false)
        {
            name = name.PadRight(SocketAddressText.SunPathLength, '\0');
        }

        return new UnixDomainSocketEndPoint(name);
    }

    /// <summary>
    /// The length check both unix_listen_saddr and unix_connect_saddr make. QEMU lets a path of
    /// exactly 108 bytes through unterminated; .NET's end point needs the NUL, so that one is
    /// refused with the same words (else the worker died on .NET's exception, the netdev stuck).
    /// </summary>
    public static void CheckUnixPathLength(UnixSocketAddress address, string path)
    {
        var length = Encoding.UTF8.GetByteCount(path);
        if (length >= SocketAddressText.SunPathLength || (address.Abstract == true && length > SocketAddressText.SunPathLength - 1))
        {
            throw new SocketSetupException($"UNIX socket path '{path}' is too long");
        }
    }

    private static Socket Inet(InetSocketAddress address)
    {
        // QEMU 9.1 refuses keep-alive on listeners before anything else.
        if (address.KeepAlive == true)
        {
            throw new SocketSetupException("keep-alive option is not supported for passive sockets");
        }

        var family = InetResolver.Family(address);
        var basePort = InetResolver.Port(address);
        var candidates = InetResolver.Passive(address, family);

        // try_bind: dual-stack only when neither or both of ipv4/ipv6 were asked for.
        var dualStack = (address.Ipv4 is null && address.Ipv6 is null) || (address.Ipv4 == true && address.Ipv6 == true);
        var created = false;
        var lastErrno = 0;
        foreach (var ip in candidates)
        {
            var maxPort = address.To is { } to ? to : basePort;
            for (var port = basePort; port <= maxPort; port++)
            {
                Socket socket;
                try
                {
                    socket = new Socket(ip.AddressFamily, SocketType.Stream, address.Mptcp == true ? (ProtocolType)IpProtoMptcp : ProtocolType.Tcp);
                }
                catch (SocketException e)
                {
                    lastErrno = e.NativeErrorCode;
                    if (port == basePort)
                    {
                        break;
                    }

                    throw SocketSetupException.WithErrno("Failed to recreate failed listening socket", e.NativeErrorCode);
                }

                created = true;
                var errno = TryBindAndListen(socket, new IPEndPoint(ip, port), dualStack, out var step);
                if (errno == 0)
                {
                    return socket;
                }

                socket.Dispose();
                lastErrno = errno;
                if (errno == Errno.EADDRINUSE)
                {
                    continue;
                }

                throw SocketSetupException.WithErrno(step, errno);
            }
        }

        throw SocketSetupException.WithErrno(created ? "Failed to find an available port" : "Failed to create a socket", lastErrno);
    }

    /// <summary>0, or the errno of the failing step (named in <paramref name="step"/>).</summary>
    private static int TryBindAndListen(Socket socket, IPEndPoint endPoint, bool dualStack, out string step)
    {
        step = "Failed to bind socket";
        Libc.SetSockOptInt(Fd(socket), Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
        var v6only = !dualStack;
        while (true)
        {
            try
            {
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = !v6only;
                }

                socket.Bind(endPoint);
                break;
            }
            catch (SocketException e)
            {
                // An IPv6 wildcard may collide only with an IPv4 listener: retry v6-only, as QEMU does.
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && e.NativeErrorCode == Errno.EADDRINUSE && !v6only)
                {
                    v6only = true;
                    continue;
                }

                return e.NativeErrorCode;
            }
        }

        step = "Failed to listen on socket";
        try
        {
            socket.Listen(0);
            return 0;
        }
        catch (SocketException e)
        {
            return e.NativeErrorCode;
        }
    }

    private static Socket Unix(UnixSocketAddress address, out string? unlinkPath)
    {
        unlinkPath = null;
        var isAbstract = address.Abstract == true;
        var socket = CreateUnix("Failed to create Unix socket");
        try
        {
            var path = address.Path;
            if (path.Length == 0 && !isAbstract)
            {
                path = ReserveTempName();
            }

            CheckUnixPathLength(address, path);
            if (!isAbstract && Libc.Unlink(path) != 0 && Errno.Last != Errno.ENOENT)
            {
                throw SocketSetupException.WithErrno($"Failed to unlink socket {path}", Errno.Last);
            }

            try
            {
                socket.Bind(UnixEndPoint(address, path));
            }
            catch (SocketException e)
            {
                throw SocketSetupException.WithErrno($"Failed to bind socket to {path}", e.NativeErrorCode);
            }

            if (!isAbstract)
            {
                unlinkPath = path;
            }

            try
            {
                socket.Listen(0);
            }
            catch (SocketException e)
            {
                throw SocketSetupException.WithErrno("Failed to listen on socket", e.NativeErrorCode);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            if (unlinkPath is not null)
            {
                Libc.Unlink(unlinkPath);
                unlinkPath = null;
            }

            throw;
        }
    }

    /// <summary>An empty path means a fresh <c>$TMPDIR/qemu-socket-XXXXXX</c> (made like mkstemp, then replaced by the socket).</summary>
    private static string ReserveTempName()
    {
        var dir = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } t ? t : "/tmp";
        const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        for (var attempt = 0; ; attempt++)
        {
            var suffix = string.Create(6, 0, (span, _) =>
            {
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = Alphabet[Random.Shared.Next(Alphabet.Length)];
                }
            });
            var path = Path.Combine(dir, "qemu-socket-" + suffix);
            try
            {
                using (new FileStream(path, FileMode.CreateNew, FileAccess.Write))
                {
                }

                return path;
            }
            catch (IOException) when (attempt < 100 && File.Exists(path))
            {
                // The name is taken: draw another, as mkstemp does.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SocketSetupException($"Failed to make a temporary socket {Path.Combine(dir, "qemu-socket-XXXXXX")}: {e.Message}");
            }
        }
    }

    private static Socket Vsock(VsockSocketAddress address)
    {
        var endPoint = ParseVsock(address);
        Socket socket;
        try
        {
            socket = new Socket(VsockEndPoint.Family, SocketType.Stream, ProtocolType.Unspecified);
        }
        catch (SocketException e)
        {
            throw SocketSetupException.WithErrno("Failed to create socket", e.NativeErrorCode);
        }

        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SocketSetupException.WithErrno("Failed to bind socket", e.NativeErrorCode);
        }

        try
        {
            socket.Listen(0);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SocketSetupException.WithErrno("Failed to listen on socket", e.NativeErrorCode);
        }

        return socket;
    }

    /// <summary>vsock_parse_vaddr_to_sockaddr: both parts decimal, at most UINT32_MAX.</summary>
    public static VsockEndPoint ParseVsock(VsockSocketAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!uint.TryParse(address.Cid, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cid))
        {
            throw new SocketSetupException($"Failed to parse cid '{address.Cid}'");
        }

        if (!uint.TryParse(address.Port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            throw new SocketSetupException($"Failed to parse port '{address.Port}'");
        }

        return new VsockEndPoint(cid, port);
    }

    private static Socket Fd(string str)
    {
        var socket = SocketFd.Open(str);
        try
        {
            socket.Listen(0);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SocketSetupException.WithErrno("Failed to listen on fd socket", e.NativeErrorCode);
        }
    }

    private static Socket CreateUnix(string failure)
    {
        try
        {
            return new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        }
        catch (SocketException e)
        {
            throw SocketSetupException.WithErrno(failure, e.NativeErrorCode);
        }
    }

    private static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();
}
