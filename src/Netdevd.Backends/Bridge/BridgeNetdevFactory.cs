using Netdevd.Backends.Sockets;
using Netdevd.Backends.Tap;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Bridge;

/// <summary>
/// <c>-netdev bridge,id=ID[,br=BR][,helper=PATH]</c> (QEMU's net_init_bridge): a tap that the
/// bridge helper opened and put on the bridge; from then on it is a tap in every respect.
/// </summary>
public sealed class BridgeNetdevFactory : INetdevFactory
{
    public NetClientDriver Driver => NetClientDriver.Bridge;

    public async ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        var bridge = options.Bridge ?? new NetdevBridgeOptions();
        var br = bridge.Br ?? BridgeHelper.DefaultBridge;
        var fd = await BridgeHelper.RunAsync(bridge.Helper, br).ConfigureAwait(false);
        try
        {
            var errno = Descriptors.TrySetNonBlocking(fd);
            if (errno != 0)
            {
                throw ErrnoText.Error("Failed to set FD nonblocking", errno);
            }

            var vnetHeader = TapDevice.ProbeVnetHeader(fd);

            // QEMU prints the helper as given: a defaulted one is a NULL pointer to printf.
            var info = $"helper={bridge.Helper ?? "(null)"},br={br}";
            return new TapNetClient(options.Id, [fd], vnetHeader, TapDevice.GetName(fd) ?? "", info, downscript: null);
        }
        catch
        {
            Descriptors.CloseQuietly(fd);
            throw;
        }
    }
}
