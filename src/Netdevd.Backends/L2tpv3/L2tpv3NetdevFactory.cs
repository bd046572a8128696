using Microsoft.Extensions.Logging;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// <c>-netdev l2tpv3,id=ID,src=S,dst=D,txsession=N[,...]</c> (QEMU's net_init_l2tpv3): option
/// checks, then the socket, in QEMU's order and with its texts; nothing is left behind on error.
/// </summary>
public sealed class L2tpv3NetdevFactory : INetdevFactory
{
    public NetClientDriver Driver => NetClientDriver.L2tpv3;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var config = L2tpv3Config.From(options.L2tpv3 ?? throw new QapiException("Parameter 'src' is missing"));
        var (fd, destination) = L2tpv3SocketSetup.Open(config);
        try
        {
            var logger = context.Loggers.CreateLogger<L2tpv3NetClient>();
            return ValueTask.FromResult<NetClient>(new L2tpv3NetClient(options.Id, config, fd, destination, logger));
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }
}
