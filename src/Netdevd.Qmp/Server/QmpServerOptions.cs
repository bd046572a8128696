namespace Netdevd.Qmp.Server;

/// <summary>Tunables of a <see cref="QmpServer"/>.</summary>
public sealed class QmpServerOptions
{
    /// <summary>
    /// Messages a session may have queued for sending. A client that falls this far behind
    /// on events is dropped; responses wait for room instead.
    /// </summary>
    public int OutboxCapacity { get; init; } = 1024;
}
