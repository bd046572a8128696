using Netdevd.Qapi.Schema;

namespace Netdevd.Core.UserNetworks;

/// <summary>
/// What the monitor may do with a <c>user</c> netdev beyond every netdev's NetClient: its run-time
/// host forwards (QEMU's HMP hostfwd_add/hostfwd_remove; netdevd's QMP hostfwd-add, hostfwd-remove,
/// query-hostfwd) and its state (query-usernet). The user netdev's client implements it, so the
/// monitor layer needs no reference to the stack. Errors are QapiExceptions with QEMU's texts; a
/// failed call changes nothing.
/// </summary>
public interface IUserNetwork
{
    /// <summary>Parses <paramref name="rule"/> and opens its host socket.</summary>
    HostFwdInfo AddHostForward(string rule);

    /// <summary>Closes the forward whose key (<c>[tcp|udp]:[hostaddr]:hostport</c>) matches; false when none does.</summary>
    bool RemoveHostForward(string key);

    /// <summary>The host forwards, in the order they were added.</summary>
    IReadOnlyList<HostFwdInfo> HostForwards { get; }

    /// <summary>A snapshot of the NAT's flows and the DHCP leases, taken under the stack's lock.</summary>
    UsernetInfo QueryState();
}
