using System.Net;
using Netdevd.Backends.Sockets;
using Netdevd.Native;
using Netdevd.Qapi.Commands;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Dgram;

/// <summary>
/// dgram with an IPv4 multicast remote (QEMU's net_dgram_mcast_init): every member sends to the
/// group and receives what any member sent, its own frames included (loopback is on and, as in
/// QEMU, echoes are not filtered).
/// </summary>
internal static class DgramMulticastSetup
{
    public static DgramSocket Open(string id, IPEndPoint group, Qapi.Schema.SocketAddress? local, IMonitorFdStore? monitor)
    {
        int fd;
        if (local is null)
        {
            fd = MulticastSockets.Create(group, null);
        }
        else
        {
            switch (local.Type)
            {
                case SocketAddressType.Inet:
                    // Only the host counts (an interface address, inet_aton only); the port is ignored.
                    var host = local.Inet!.Host;
                    if (!Ipv4HostPort.TryParseLiteral(host, out var localAddress))
                    {
                        throw new QapiException($"localaddr '{host}' is not a valid IPv4 address");
                    }

                    fd = MulticastSockets.Create(group, localAddress);
                    break;
                case SocketAddressType.Fd:
                    throw LocalFdError(id, local.Fd!.Str, monitor);
                default:
                    throw new QapiException("only support inet or fd type for local");
            }
        }

        return new DgramSocket(fd, SockAddr.Inet(group), $"mcast={Ipv4HostPort.Format(group)}");
    }

    /// <summary>
    /// QEMU 9.1's local.fd branch reads the fd variant as if it were inet: the descriptor string
    /// becomes the "host" and the port is a NULL string, so after taking the descriptor the setup
    /// always fails (with the host's error, or "port number '(null)' is invalid") and closes it.
    /// We reproduce the outcome: the descriptor is consumed and the same error is given.
    /// </summary>
    private static QapiException LocalFdError(string id, string fdname, IMonitorFdStore? monitor)
    {
        var fd = MonitorFdParam.Take(monitor, fdname);
        var e = Descriptors.TrySetNonBlocking(fd);
        Descriptors.CloseQuietly(fd);
        if (e != 0)
        {
            return ErrnoText.Error($"{id}: Can't use file descriptor {fd}", e);
        }

        try
        {
            _ = Ipv4HostPort.Convert(fdname, "0");
        }
        catch (QapiException hostError)
        {
            return hostError;
        }

        return new QapiException("port number '(null)' is invalid");
    }
}
