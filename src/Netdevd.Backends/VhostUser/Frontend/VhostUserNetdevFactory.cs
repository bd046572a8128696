using Microsoft.Extensions.Logging;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.VhostUser.Frontend;

/// <summary>
/// <c>-netdev vhost-user,id=ID,chardev=CHR[,vhostforce=on|off][,queues=N]</c> (QEMU's
/// net_init_vhost_user): the chardev checks and the queue range in QEMU's order and words, then,
/// as QEMU, creation waits until the back-end is connected and set up (<see cref="WhenReadyAsync"/>,
/// which does not hold up other netdev commands as QEMU's does).
/// </summary>
public sealed class VhostUserNetdevFactory : INetdevFactory
{
    /// <summary>QEMU's MAX_QUEUE_NUM for vhost-user.</summary>
    private const int MaxQueues = 1024;

    public NetClientDriver Driver => NetClientDriver.VhostUser;

    public async ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var vhost = options.VhostUser!;

        // net_vhost_claim_chardev. vhostforce is QEMU's legacy switch for non-MSI-X guests: accepted, nothing to do.
        var chardev = context.Registry.Chardevs.Find(vhost.Chardev) ?? throw new QapiException($"chardev \"{vhost.Chardev}\" not found");
        if (!chardev.IsReconnectable)
        {
            throw new QapiException($"chardev \"{vhost.Chardev}\" is not reconnectable");
        }

        if (!chardev.SupportsFdPassing)
        {
            throw new QapiException($"chardev \"{vhost.Chardev}\" does not support FD passing");
        }

        var queues = vhost.Queues ?? 1;
        if (queues is < 1 or > MaxQueues)
        {
            throw new QapiException($"vhost-user number of queues must be in range [1, {MaxQueues}]");
        }

        var client = new VhostUserNetClient(options.Id, chardev, (int)queues, context.Loggers.CreateLogger<VhostUserNetClient>());
        if (!chardev.TryClaim(client))
        {
            // qemu_chr_fe_init's error, which QEMU only prints before the generic one.
            await client.DisposeAsync().ConfigureAwait(false);
            throw new QapiException("Device 'vhost-user' could not be initialized") { PrecedingReport = $"Device '{vhost.Chardev}' is in use" };
        }

        client.Start();
        return client;
    }

    /// <summary>
    /// The wait for the back-end, outside the registry's gate: with a server chardev nobody may
    /// ever connect, and other monitors' netdev commands must not wait with this one.
    /// </summary>
    public async ValueTask WhenReadyAsync(NetClient client, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await ((VhostUserNetClient)client).Started.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // Not the back-end's failure but the wait's end: .NET's "A task was canceled." would
            // be all the log said about a netdev that was asked for and is not there.
            throw new QapiException("Device 'vhost-user' could not be initialized")
            {
                PrecedingReport = $"vhost-user netdev '{client.Name}' not added: its monitor closed, or netdevd is stopping, before the back-end was set up",
            };
        }
        catch (Exception e) when (e is not QapiException)
        {
            // The registry closes the client, which releases the chardev.
            throw new QapiException("Device 'vhost-user' could not be initialized") { PrecedingReport = e.Message };
        }
    }
}
