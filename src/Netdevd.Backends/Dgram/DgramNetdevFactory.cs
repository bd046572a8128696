using Microsoft.Extensions.Logging;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Dgram;

/// <summary>
/// <c>-netdev dgram,id=ID[,local.*][,remote.*]</c> (QEMU's net_init_dgram): the checks in QEMU's
/// order, then one of inet multicast, inet unicast pair, unix pair or fd.
/// </summary>
public sealed class DgramNetdevFactory : INetdevFactory
{
    public NetClientDriver Driver => NetClientDriver.Dgram;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var socket = Open(options.Id, options.Dgram ?? throw new QapiException("dgram requires local= parameter"), context);
        try
        {
            var logger = context.Loggers.CreateLogger<DatagramNetClient>();
            return ValueTask.FromResult<NetClient>(new DatagramNetClient(options.Id, NetClientDriver.Dgram, socket.Fd, socket.Destination, socket.Info, logger));
        }
        catch
        {
            Descriptors.CloseQuietly(socket.Fd);
            throw;
        }
    }

    /// <summary>QEMU's decision logic; returns the set-up socket or throws with QEMU's text.</summary>
    internal static DgramSocket Open(string id, NetdevDgramOptions dgram, NetdevContext context)
    {
        var remote = dgram.Remote;
        var local = dgram.Local;

        // Multicast is recognised first, by resolving an inet remote (so a bad remote host is
        // an error here even when the pair would turn out to be unicast).
        if (remote is { Type: SocketAddressType.Inet, Inet: { } remoteInet })
        {
            var group = Ipv4HostPort.Convert(remoteInet.Host, remoteInet.Port);
            if (Ipv4HostPort.IsMulticast(group.Address))
            {
                return DgramMulticastSetup.Open(id, group, local, context.MonitorFds);
            }
        }

        if (local is null)
        {
            throw new QapiException("dgram requires local= parameter");
        }

        if (remote is not null)
        {
            if (local.Type == SocketAddressType.Fd)
            {
                throw new QapiException("don't set remote with local.fd");
            }

            if (remote.Type != local.Type)
            {
                throw new QapiException("remote and local types must be the same");
            }
        }
        else if (local.Type != SocketAddressType.Fd)
        {
            throw new QapiException("type=inet or type=unix requires remote parameter");
        }

        return local.Type switch
        {
            SocketAddressType.Inet => DgramUnicastSetup.OpenInet(local.Inet!, remote!.Inet!),
            SocketAddressType.Unix => DgramUnicastSetup.OpenUnix(local.Unix!, remote!.Unix!),
            SocketAddressType.Fd => DgramUnicastSetup.OpenFd(id, local.Fd!.Str, context.MonitorFds),
            _ => throw new QapiException("only support inet or fd type for local"),
        };
    }
}
