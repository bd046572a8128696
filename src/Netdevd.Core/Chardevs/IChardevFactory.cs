using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Chardevs;

/// <summary>Creates the chardevs of the kinds this build provides (QEMU's chardev classes).</summary>
/// <remarks>
/// Creation has two phases, as a netdev's (<c>INetdevFactory</c>), so that a chardev waiting on
/// its far end cannot hold up every other chardev command: <see cref="CreateAsync"/> runs under
/// the registry's gate and must not wait on anything outside this process (checks, a server's
/// bind and listen); <see cref="WhenReadyAsync"/> runs outside the gate, with the id reserved,
/// and is where a chardev waits for its far end (a server's first client with <c>wait</c>, a
/// client's connect).
/// </remarks>
public interface IChardevFactory
{
    /// <summary>Whether this build has the kind; the others are "not a valid char driver name".</summary>
    bool Provides(ChardevBackendKind kind);

    /// <summary>
    /// Makes the chardev (a server binds and listens). Throws <see cref="ChardevException"/>
    /// with QEMU's text and leaves nothing open on failure.
    /// </summary>
    ValueTask<Chardev> CreateAsync(string id, ChardevBackend backend, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when <paramref name="chardev"/>, just made by <see cref="CreateAsync"/>, is
    /// ready to be listed (by default at once): a server with <c>wait</c> has taken its first
    /// client, a client without reconnect has connected. It ends with
    /// <paramref name="cancellationToken"/> (the caller gave up or the registry is closing). On
    /// failure throw <see cref="ChardevException"/> with QEMU's text; the registry closes the chardev.
    /// </summary>
    ValueTask WhenReadyAsync(Chardev chardev, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
