using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Stream;
using Netdevd.Core.Clients;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.LegacySocket;

/// <summary>
/// The legacy <c>socket</c> netdev in its TCP modes (QEMU's net/socket.c NetSocketState with
/// SOCK_STREAM): <c>listen=</c> serves one client at a time, <c>connect=</c> and a stream
/// <c>fd=</c> carry one connection for good (no reconnect: after the end the netdev is dead).
/// No events; the info string is QEMU's.
/// </summary>
internal sealed class SocketStreamClient : FramedSocketClient
{
    private volatile bool _waitingForConnect;

    private SocketStreamClient(string name, ILogger logger)
        : base(name, NetClientDriver.Socket, logger)
    {
    }

    /// <summary>While an outgoing connect is in progress frames wait in the queue, as QEMU's EAGAIN writes do.</summary>
    protected override ReceiveResult ReceiveWhileDisconnected =>
        _waitingForConnect ? ReceiveResult.Busy : ReceiveResult.Accepted;

    /// <summary><c>listen=</c>: link down and an empty info string until a client arrives.</summary>
    public static SocketStreamClient Listening(string name, System.Net.Sockets.Socket listener, ILogger logger)
    {
        var client = new SocketStreamClient(name, logger);
        client.SetLinkUp(false);
        client.StartLoop();
        client.HandOverListener(listener, () => client.Listen(listener));
        return client;
    }

    /// <summary><c>connect=</c>: the link is up at once; frames queue until the connect completes.</summary>
    public static SocketStreamClient Connecting(string name, System.Net.Sockets.Socket socket, bool connected, IPEndPoint target, ILogger logger)
    {
        var client = new SocketStreamClient(name, logger) { _waitingForConnect = true };
        SetNoDelay(socket);
        client.Info = $"socket: connect to {target.Address}:{target.Port}";
        client.StartLoop();
        client.HandOver(socket, () =>
        {
            if (connected)
            {
                client.Attach(socket, accepted: false);
            }
            else
            {
                client.BeginConnect(socket);
            }
        });
        return client;
    }

    /// <summary><c>fd=</c> naming a stream socket: taken as connected.</summary>
    public static SocketStreamClient FromDescriptor(string name, System.Net.Sockets.Socket socket, int fd, ILogger logger)
    {
        var client = new SocketStreamClient(name, logger) { _waitingForConnect = true };
        SetNoDelay(socket);
        client.Info = $"socket: fd={fd}";
        client.StartLoop();
        client.HandOver(socket, () => client.Attach(socket, accepted: false));
        return client;
    }

    protected override void OnConnected(System.Net.Sockets.Socket socket, bool accepted)
    {
        _waitingForConnect = false;
        if (accepted)
        {
            var remote = socket.RemoteEndPoint as IPEndPoint;
            Info = $"socket: connection from {remote?.Address}:{remote?.Port}";
            SetLinkUp(true);
        }
    }

    protected override void OnDisconnected()
    {
        _waitingForConnect = false;
        SetLinkUp(false);
        Info = "";
    }

    /// <summary>socket_set_nodelay: best effort (a unix stream descriptor has no Nagle to turn off).</summary>
    private static void SetNoDelay(System.Net.Sockets.Socket socket)
    {
        if (socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
        {
            try
            {
                socket.NoDelay = true;
            }
            catch (SocketException)
            {
                // QEMU ignores this failure too.
            }
        }
    }
}
