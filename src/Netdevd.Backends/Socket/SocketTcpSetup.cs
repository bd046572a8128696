using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Sockets;
using Netdevd.Native;

namespace Netdevd.Backends.LegacySocket;

/// <summary>
/// The TCP sockets of the legacy socket netdev (net_socket_listen_init / net_socket_connect_init):
/// IPv4, SO_REUSEADDR, backlog 0, non-blocking connect; errors are returned to the caller with
/// QEMU's texts, as QEMU does them synchronously.
/// </summary>
internal static class SocketTcpSetup
{
    public static System.Net.Sockets.Socket Listen(IPEndPoint local)
    {
        var socket = Create();
        try
        {
            // Raw SO_REUSEADDR: .NET's ReuseAddress would add SO_REUSEPORT and let ports be shared.
            Libc.SetSockOptInt((int)socket.SafeHandle.DangerousGetHandle(), Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
            try
            {
                socket.Bind(local);
            }
            catch (SocketException e)
            {
                throw ErrnoText.Error($"can't bind ip={local.Address} to socket", e.NativeErrorCode);
            }

            try
            {
                socket.Listen(0);
            }
            catch (SocketException e)
            {
                throw ErrnoText.Error("can't listen on socket", e.NativeErrorCode);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts a non-blocking connect; <paramref name="connected"/> when it finished at once.</summary>
    public static System.Net.Sockets.Socket Connect(IPEndPoint target, out bool connected)
    {
        var socket = Create();
        socket.Blocking = false;
        try
        {
            socket.Connect(target);
            connected = true;
            return socket;
        }
        catch (SocketException e) when (e.NativeErrorCode is Errno.EAGAIN or 115 or 114)
        {
            // EINPROGRESS (reported by .NET as WouldBlock) / EALREADY: completes later.
            connected = false;
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw ErrnoText.Error("can't connect socket", e.NativeErrorCode);
        }
    }

    private static System.Net.Sockets.Socket Create()
    {
        try
        {
            return new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        }
        catch (SocketException e)
        {
            throw ErrnoText.Error("can't create stream socket", e.NativeErrorCode);
        }
    }
}
