using Microsoft.Extensions.Logging;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Vde;

/// <summary>
/// <c>-netdev vde,id=ID[,sock=DIR][,port=N][,group=G][,mode=M]</c> (QEMU's net_init_vde): opens a
/// port on the switch first and creates the client only when that worked.
/// </summary>
public sealed class VdeNetdevFactory : INetdevFactory
{
    /// <summary>QEMU's default permission bits for the data socket.</summary>
    public const uint DefaultMode = 0x1c0; // 0700

    /// <summary>The description the switch shows for the port (QEMU passes "QEMU").</summary>
    private const string Description = "netdevd";

    public NetClientDriver Driver => NetClientDriver.Vde;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var vde = options.Vde ?? new NetdevVdeOptions();
        var connection = VdeConnector.Open(vde.Sock, vde.Port ?? 0, vde.Group, vde.Mode ?? DefaultMode, DescriptionText());
        try
        {
            // One datagram on the connected data socket is one frame, as dgram's; the control
            // stream stays open as long as the port (QEMU prints a missing sock as "(null)").
            var info = $"sock={vde.Sock ?? "(null)"},fd={connection.DataFd}";
            var logger = context.Loggers.CreateLogger<DatagramNetClient>();
            return ValueTask.FromResult<NetClient>(new DatagramNetClient(options.Id, NetClientDriver.Vde, connection.DataFd, null, info, logger, connection.ControlFd));
        }
        catch
        {
            Descriptors.CloseQuietly(connection.ControlFd);
            Descriptors.CloseQuietly(connection.DataFd);
            throw;
        }
    }

    /// <summary>libvdeplug's "DESCR user=NAME PID=N" (plus " SSH=IP" when run over ssh).</summary>
    private static string DescriptionText()
    {
        var text = $"{Description} user={Environment.UserName} PID={Environment.ProcessId}";
        if (Environment.GetEnvironmentVariable("SSH_CLIENT") is { Length: > 0 } ssh)
        {
            var space = ssh.IndexOf(' ', StringComparison.Ordinal);
            text += " SSH=" + (space >= 0 ? ssh[..space] : ssh);
        }

        return text;
    }
}
