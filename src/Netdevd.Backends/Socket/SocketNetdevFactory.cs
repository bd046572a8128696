using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

// Not "Netdevd.Backends.Socket": a namespace named Socket would shadow System.Net.Sockets.Socket
// in every Netdevd.Backends.* namespace.
namespace Netdevd.Backends.LegacySocket;

/// <summary>
/// <c>-netdev socket,...</c> (QEMU's net_init_socket): exactly one of fd/listen/connect/mcast/udp,
/// checked and set up synchronously in QEMU's order with its texts. TCP modes use the stream
/// framing engine; mcast/udp/datagram fd use the datagram client.
/// </summary>
public sealed class SocketNetdevFactory : INetdevFactory
{
    public NetClientDriver Driver => NetClientDriver.Socket;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Socket!;
        var given = (o.Fd is null ? 0 : 1) + (o.Listen is null ? 0 : 1) + (o.Connect is null ? 0 : 1) + (o.Mcast is null ? 0 : 1) + (o.Udp is null ? 0 : 1);
        if (given != 1)
        {
            throw new QapiException("exactly one of listen=, connect=, mcast= or udp= is required");
        }

        if (o.Localaddr is not null && o.Mcast is null && o.Udp is null)
        {
            throw new QapiException("localaddr= is only valid with mcast= or udp=");
        }

        var logger = context.Loggers.CreateLogger("netdevd.socket");
        NetClient client;
        if (o.Fd is not null)
        {
            client = FromDescriptor(options.Id, o.Fd, context, logger);
        }
        else if (o.Listen is not null)
        {
            client = SocketStreamClient.Listening(options.Id, SocketTcpSetup.Listen(Ipv4HostPort.Parse(o.Listen)), logger);
        }
        else if (o.Connect is not null)
        {
            var target = Ipv4HostPort.Parse(o.Connect);
            var socket = SocketTcpSetup.Connect(target, out var connected);
            client = SocketStreamClient.Connecting(options.Id, socket, connected, target, logger);
        }
        else if (o.Mcast is not null)
        {
            client = Multicast(options.Id, o, logger);
        }
        else
        {
            if (o.Localaddr is null)
            {
                throw new QapiException("localaddr= is mandatory with udp=");
            }

            var local = Ipv4HostPort.Parse(o.Localaddr);
            var remote = Ipv4HostPort.Parse(o.Udp!);
            var fd = UdpSockets.CreateBound(local);
            client = new DatagramNetClient(options.Id, NetClientDriver.Socket, fd, SockAddr.Inet(remote), $"socket: udp={Ipv4HostPort.Format(remote)}", logger);
        }

        return ValueTask.FromResult(client);
    }

    private static DatagramNetClient Multicast(string id, NetdevSocketOptions o, ILogger logger)
    {
        var group = Ipv4HostPort.Parse(o.Mcast!);
        IPAddress? local = null;
        if (o.Localaddr is not null && !Ipv4HostPort.TryParseLiteral(o.Localaddr, out local))
        {
            throw new QapiException($"localaddr '{o.Localaddr}' is not a valid IPv4 address");
        }

        var fd = MulticastSockets.Create(group, local);
        return new DatagramNetClient(id, NetClientDriver.Socket, fd, SockAddr.Inet(group), $"socket: mcast={Ipv4HostPort.Format(group)}", logger);
    }

    /// <summary>fd=: SOCK_STREAM is a connected framed stream, SOCK_DGRAM one frame per datagram.</summary>
    private static NetClient FromDescriptor(string id, string fdParam, NetdevContext context, ILogger logger)
    {
        var fd = MonitorFdParam.Take(context.MonitorFds, fdParam);
        var e = Descriptors.TrySetNonBlocking(fd);
        if (e != 0)
        {
            throw ErrnoText.Error($"{id}: Can't use file descriptor {fd}", e);
        }

        if (Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_TYPE, out var type) != 0)
        {
            Descriptors.CloseQuietly(fd);
            throw new QapiException("can't get socket option SO_TYPE");
        }

        switch (type)
        {
            case Libc.SOCK_STREAM:
                var socket = new System.Net.Sockets.Socket(new SafeSocketHandle(fd, ownsHandle: true));
                return SocketStreamClient.FromDescriptor(id, socket, fd, logger);
            case Libc.SOCK_DGRAM:
                var family = DgramUnicastSetup.LocalAddressType(fd, out var error);
                if (family is null)
                {
                    Descriptors.CloseQuietly(fd);
                    throw error!;
                }

                // QEMU sendto()s a zeroed sockaddr_in for non-unix descriptors, which cannot
                // work; sending on the (connected) descriptor is the usable reading of it.
                return new DatagramNetClient(id, NetClientDriver.Socket, fd, null, $"socket: fd={fd} {family}", logger);
            default:
                Descriptors.CloseQuietly(fd);
                throw new QapiException($"socket type={type} for fd={fd} must be either SOCK_DGRAM or SOCK_STREAM");
        }
    }
}
