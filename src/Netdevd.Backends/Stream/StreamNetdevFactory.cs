using Microsoft.Extensions.Logging;
using Netdevd.Backends.Io;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Stream;

/// <summary>
/// <c>-netdev stream,addr.type=...,server=on|off[,reconnect=N]</c> (QEMU's net_init_stream).
/// The only error raised synchronously is reconnect with server=on; everything else (resolution,
/// bind, connect, descriptors) lands in the info string as QEMU's worker thread would put it.
/// </summary>
public sealed class StreamNetdevFactory : INetdevFactory
{
    private readonly IoThreadPool? _pool;

    public StreamNetdevFactory()
    {
    }

    /// <summary>Netdevs on <paramref name="pool"/>'s threads rather than the default pool's (tests: several netdevs on one thread).</summary>
    internal StreamNetdevFactory(IoThreadPool pool) => _pool = pool;

    public NetClientDriver Driver => NetClientDriver.Stream;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var stream = options.Stream!;
        if (stream.Server == true && stream.Reconnect is not null)
        {
            throw new QapiException("'reconnect' option is incompatible with socket in server mode");
        }

        // A getfd name belongs to the calling monitor: claim it now, in its context.
        var address = stream.Addr;
        string? fdError = null;
        if (address.Type == SocketAddressType.Fd)
        {
            try
            {
                var number = SocketFd.Claim(address.Fd!.Str, context.MonitorFds);
                address = new QapiSocketAddress { Type = SocketAddressType.Fd, Fd = new Netdevd.Qapi.Schema.String { Str = number } };
            }
            catch (SocketSetupException e)
            {
                fdError = e.Message;
            }
        }

        var client = new StreamNetClient(
            options.Id,
            stream,
            address,
            fdError,
            context.Events,
            context.Time,
            context.Loggers.CreateLogger("netdevd.stream"),
            _pool);
        client.Start();
        return ValueTask.FromResult<NetClient>(client);
    }
}
