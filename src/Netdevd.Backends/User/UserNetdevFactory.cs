using Microsoft.Extensions.Logging;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;
using Netdevd.UserNet.Nat;

namespace Netdevd.Backends.User;

/// <summary>
/// <c>-netdev user,id=ID,...</c> (QEMU's net_init_slirp): QEMU's option checks and derivations
/// (<see cref="UserNetConfigParser"/>), then the stack with its guestfwd and hostfwd rules.
/// </summary>
/// <remarks>
/// The DNS proxy reads the host's resolvers from /etc/resolv.conf, or from the file named by the
/// environment variable <see cref="ResolvConfVariable"/> (tests point it at a local server), and
/// is read again when that file changes; <c>smb=DIR</c> runs /usr/sbin/smbd or <see cref="SmbdVariable"/>.
/// </remarks>
/// <param name="memoryLimit">What each user netdev may hold for its guest (<see cref="NatLimits.MemoryLimit"/>).</param>
public sealed class UserNetdevFactory(long memoryLimit = NatLimits.DefaultMemoryLimit) : INetdevFactory
{
    public const string ResolvConfVariable = "NETDEVD_RESOLV_CONF";

    /// <summary>The smbd that <c>smb=DIR</c> runs instead of /usr/sbin/smbd (tests of the missing-smbd error).</summary>
    public const string SmbdVariable = "NETDEVD_SMBD";

    public NetClientDriver Driver => NetClientDriver.User;

    public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var config = UserNetConfigParser.Parse(options.User ?? new NetdevUserOptions(), Environment.GetEnvironmentVariable(ResolvConfVariable), Environment.GetEnvironmentVariable(SmbdVariable));
        var logger = context.Loggers.CreateLogger<UserNetClient>();
        return ValueTask.FromResult<NetClient>(UserNetClient.Create(options.Id, config, context.Time, logger, new NatLimits { MemoryLimit = memoryLimit },
            new PollLoopHostIo($"user-{options.Id}", logger: logger)));
    }
}
