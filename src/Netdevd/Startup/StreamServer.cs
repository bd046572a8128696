using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Startup;

/// <summary>
/// The netdev a VM attaches to with QEMU's own <c>-netdev stream,server=off,addr.type=unix</c>:
/// a stream server on a unix socket (the default job's vm0.sock, passt's --socket).
/// </summary>
internal static class StreamServer
{
    public const string NetdevId = "vm0";
    public const string HubPortId = "hub0port0";

    /// <summary>
    /// Waits until the server listens, as QEMU binds in the background and reports a failure only
    /// in the netdev's info ("error: ..."): a caller that promises a listening socket (passt's
    /// first process exits only then) must see it. Returns null when listening, else the error.
    /// </summary>
    public static async Task<string?> WaitListeningAsync(NetdevRegistry registry, CancellationToken cancellationToken)
    {
        var client = registry.Find(NetdevId)?.Client ?? throw new InvalidOperationException("no stream server");
        for (var delay = 1; ; delay = Math.Min(delay * 2, 50))
        {
            var info = client.Info;
            if (info.StartsWith("error: ", StringComparison.Ordinal))
            {
                return info["error: ".Length..];
            }

            if (info != "initializing")
            {
                return null;
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    public static Task AddAsync(NetdevRegistry registry, string path, CancellationToken cancellationToken) =>
        registry.AddAsync(
            new Netdev
            {
                Id = NetdevId,
                Type = NetClientDriver.Stream,
                Stream = new NetdevStreamOptions
                {
                    Server = true,
                    Addr = new SocketAddress { Type = SocketAddressType.Unix, Unix = new UnixSocketAddress { Path = path } },
                },
            },
            NetdevOrigin.CommandLineModern,
            cancellationToken: cancellationToken);
}
