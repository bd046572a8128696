using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Netdevd.Backends.Dgram;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Vde;

/// <summary>
/// <c>-netdev vde,id=ID[,sock=DIR][,port=N][,group=G][,mode=M]</c> (QEMU's net_init_vde): the
/// switch directory and the sockets first, under the registry's gate; then, in
/// <see cref="WhenReadyAsync"/>, the handshake that opens the port, which waits on the switch.
/// </summary>
public sealed class VdeNetdevFactory : INetdevFactory
{
    /// <summary>QEMU's default permission bits for the data socket.</summary>
    public const uint DefaultMode = 0x1c0; // 0700

    /// <summary>The description the switch shows for the port (QEMU passes "QEMU").</summary>
    private const string Description = "netdevd";

    /// <summary>The handshake each client made by <see cref="CreateAsync"/> is still to do, until <see cref="WhenReadyAsync"/> takes it.</summary>
    private readonly ConditionalWeakTable<NetClient, VdeHandshake> _handshakes = [];

    public NetClientDriver Driver => NetClientDriver.Vde;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var vde = options.Vde ?? new NetdevVdeOptions();
        var handshake = VdeConnector.Prepare(vde.Sock, vde.Port ?? 0, vde.Group, vde.Mode ?? DefaultMode, DescriptionText());
        try
        {
            // One datagram on the connected data socket is one frame, as dgram's; the control
            // stream stays open as long as the port (QEMU prints a missing sock as "(null)").
            // Not polled before the handshake has connected the data socket.
            var info = $"sock={vde.Sock ?? "(null)"},fd={handshake.DataFd}";
            var logger = context.Loggers.CreateLogger<DatagramNetClient>();
            var client = new DatagramNetClient(options.Id, NetClientDriver.Vde, handshake.DataFd, null, info, logger, handshake.ControlFd, startPolling: false);
            _handshakes.Add(client, handshake);
            return ValueTask.FromResult<NetClient>(client);
        }
        catch
        {
            Descriptors.CloseQuietly(handshake.ControlFd);
            Descriptors.CloseQuietly(handshake.DataFd);
            throw;
        }
    }

    /// <summary>
    /// The handshake, outside the registry's gate: a switch (or anything bound at its ctl path)
    /// that accepts and never answers holds up this add for up to
    /// <see cref="VdeConnector.HandshakeTimeout"/>, and no other netdev command. On failure or
    /// cancellation the registry closes the client, and with it both sockets.
    /// </summary>
    public async ValueTask WhenReadyAsync(NetClient client, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(context);
        if (!_handshakes.TryGetValue(client, out var handshake))
        {
            throw new InvalidOperationException($"netdev '{client.Name}' was not made by this factory or is ready already");
        }

        _handshakes.Remove(client);
        await handshake.RunAsync(context.CancellationToken).ConfigureAwait(false);
        ((DatagramNetClient)client).Start();
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
