using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Chardevs;

/// <summary>Creates the chardevs of the kinds this build provides (QEMU's chardev classes).</summary>
public interface IChardevFactory
{
    /// <summary>Whether this build has the kind; the others are "not a valid char driver name".</summary>
    bool Provides(ChardevBackendKind kind);

    /// <summary>
    /// Opens the chardev (a server binds and listens, and with <c>wait</c> takes its first
    /// client; a client without reconnect connects). Throws <see cref="ChardevException"/>
    /// with QEMU's text and leaves nothing open on failure.
    /// </summary>
    ValueTask<Chardev> CreateAsync(string id, ChardevBackend backend, CancellationToken cancellationToken);
}
