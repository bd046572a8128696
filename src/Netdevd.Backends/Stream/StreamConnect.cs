using System.Net;
using System.Net.Sockets;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Stream;

/// <summary>
/// QEMU's socket_connect for every SocketAddress kind (it runs in a worker thread as
/// qio_channel_socket_connect_async does), with its error texts.
/// </summary>
internal static class StreamConnect
{
    private const int IpProtoMptcp = 262;
    private static readonly TimeSpan s_backlogRetry = TimeSpan.FromMilliseconds(50);

    private static (Socket, QapiSocketAddress) Inet(InetSocketAddress address, Action<Socket?> track)
    {
        var family = InetResolver.Family(address);
        var port = InetResolver.Port(address);
        SocketSetupException? last = null;
        foreach (var ip in InetResolver.Active(address, family))
        {
            Socket socket;
            try
            {
                socket = new Socket(ip.AddressFamily, SocketType.Stream, address.Mptcp == true ? (ProtocolType)IpProtoMptcp : ProtocolType.Tcp);
            }
            catch (SocketException e)
            {
                var af = ip.AddressFamily == AddressFamily.InterNetwork ? 2 : 10;
                last = SocketSetupException.WithErrno($"Failed to create socket family {af}", e.NativeErrorCode);
                continue;
            }

            var endPoint = new IPEndPoint(ip, port);
            try
            {
                track(socket);
                socket.Connect(endPoint);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                socket.Dispose();
                var errno = e is SocketException se ? se.NativeErrorCode : Native.Errno.EBADF;
                last = SocketSetupException.WithErrno($"Failed to connect to '{address.Host}:{address.Port}'", errno);
                continue;
            }
            finally
            {
                track(null);
            }

            if (address.KeepAlive == true)
            {
                try
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw SocketSetupException.WithErrno("Unable to set keep-alive option on socket", e.NativeErrorCode);
                }
            }

            return (socket, SocketAddressText.Describe(endPoint));
        }

        throw last ?? new SocketSetupException($"Failed to connect to '{address.Host}:{address.Port}'");
    }

    /// <summary>
    /// Connects and returns the socket with the peer's address as QEMU reports it
    /// (qio_channel_socket_get_remote_address). An inet or vsock connect blocks:
    /// <paramref name="track"/> sees each socket before it does, so that deleting the netdev can
    /// abort the attempt by closing it. A unix one waiting on a full backlog is deaf to that, so
    /// it goes through <see cref="ConnectUnixAsync"/>, which <paramref name="cancellationToken"/> ends.
    /// </summary>
    public static async Task<(Socket Socket, QapiSocketAddress Remote)> ConnectAsync(QapiSocketAddress address, Action<Socket?> track, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(track);
        switch (address.Type)
        {
            case SocketAddressType.Inet:
                return Inet(address.Inet!, track);
            case SocketAddressType.Vsock:
                return Vsock(address.Vsock!, track);
            case SocketAddressType.Unix:
                var unix = address.Unix!;
                var socket = await ConnectUnixAsync(unix, cancellationToken).ConfigureAwait(false);
                return (socket, SocketAddressText.Describe(StreamListen.UnixEndPoint(unix, unix.Path)));
            default:
                return Fd(address.Fd!.Str);
        }
    }

    /// <summary>
    /// A unix connect that waits while the listener's backlog is full, until
    /// <paramref name="cancellationToken"/>: a blocking connect waits there for ever and neither
    /// closing nor shutting down its socket wakes it, while a non-blocking one says EAGAIN, so
    /// this tries again (a new socket each time) every 50 ms. Errors as <see cref="ConnectAsync"/>'s.
    /// </summary>
    public static async Task<Socket> ConnectUnixAsync(UnixSocketAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        StreamListen.CheckUnixPathLength(address, address.Path);
        if (address.Path.Length == 0 && address.Abstract != true)
        {
            // QEMU connects to the empty path and the kernel finds no such file; .NET will not
            // even make the end point (its exception ended a reconnecting back-end's thread).
            throw SocketSetupException.WithErrno("Failed to connect to ''", Native.Errno.ENOENT);
        }

        var endPoint = StreamListen.UnixEndPoint(address, address.Path);
        while (true)
        {
            Socket socket;
            try
            {
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
            }
            catch (SocketException e)
            {
                throw SocketSetupException.WithErrno("Failed to create socket", e.NativeErrorCode);
            }

            try
            {
                socket.Connect(endPoint);

                // Blocking again: its users read and write the descriptor themselves (recvmsg,
                // sendmsg), and .NET leaves O_NONBLOCK set whatever Socket.Blocking says later.
                Native.Libc.SetBlocking(socket.SafeHandle);
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                socket.Dispose();
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw SocketSetupException.WithErrno($"Failed to connect to '{address.Path}'", UnixConnectErrno(e));
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            await Task.Delay(s_backlogRetry, cancellationToken).ConfigureAwait(false);
        }
    }

    private static (Socket, QapiSocketAddress) Vsock(VsockSocketAddress address, Action<Socket?> track)
    {
        var endPoint = StreamListen.ParseVsock(address);
        Socket socket;
        try
        {
            socket = new Socket(VsockEndPoint.Family, SocketType.Stream, ProtocolType.Unspecified);
        }
        catch (SocketException e)
        {
            throw SocketSetupException.WithErrno("Failed to create socket family 40", e.NativeErrorCode);
        }

        try
        {
            track(socket);
            socket.Connect(endPoint);
            return (socket, SocketAddressText.Describe(endPoint));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            var errno = e is SocketException se ? se.NativeErrorCode : Native.Errno.EBADF;
            throw SocketSetupException.WithErrno($"Failed to connect to '{address.Cid}:{address.Port}'", errno);
        }
        finally
        {
            track(null);
        }
    }

    /// <summary>An inherited or passed descriptor is taken as already connected.</summary>
    private static (Socket, QapiSocketAddress) Fd(string str)
    {
        var socket = SocketFd.Open(str);
        QapiSocketAddress remote;
        try
        {
            remote = socket.RemoteEndPoint is { } ep ? SocketAddressText.Describe(ep) : SocketAddressText.UnnamedUnix();
        }
        catch (Exception e) when (e is SocketException or ArgumentException or NotSupportedException)
        {
            remote = SocketAddressText.UnnamedUnix();
        }

        return (socket, remote);
    }

    /// <summary>
    /// .NET reports connect's ENOENT (no socket file) as AddressNotAvailable, whose errno is
    /// EADDRNOTAVAIL; a unix connect never fails with that, so it is the missing file QEMU names.
    /// </summary>
    private static int UnixConnectErrno(SocketException e) =>
        e.SocketErrorCode == SocketError.AddressNotAvailable ? Native.Errno.ENOENT : e.NativeErrorCode;
}
