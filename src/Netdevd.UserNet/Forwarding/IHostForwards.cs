namespace Netdevd.UserNet.Forwarding;

/// <summary>
/// Run-time management of a user netdev's host forwards (QEMU's HMP hostfwd_add/hostfwd_remove;
/// netdevd's QMP hostfwd-add, hostfwd-remove, query-hostfwd). Errors are QapiExceptions with
/// QEMU's texts; a failed call changes nothing.
/// </summary>
public interface IHostForwards
{
    /// <summary>Parses <paramref name="rule"/> and opens its host socket.</summary>
    HostForwardInfo AddHostForward(string rule);

    /// <summary>Closes the forward whose key (<c>[tcp|udp]:[hostaddr]:hostport</c>) matches; false when none does.</summary>
    bool RemoveHostForward(string key);

    IReadOnlyList<HostForwardInfo> HostForwards { get; }
}
