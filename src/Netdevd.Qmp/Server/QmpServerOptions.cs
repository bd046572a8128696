namespace Netdevd.Qmp.Server;

/// <summary>Tunables of a <see cref="QmpServer"/>.</summary>
public sealed class QmpServerOptions
{
    /// <summary>The default of <see cref="MaxClients"/> (the daemon's <c>--qmp-max-clients</c>).</summary>
    public const int DefaultMaxClients = 64;

    /// <summary>
    /// Clients served at once, over all endpoints. One more is refused (accepted and closed at
    /// once, so it reads end of stream instead of a greeting) until one of them leaves.
    /// </summary>
    public int MaxClients { get; init; } = DefaultMaxClients;

    /// <summary>
    /// Messages a session may have queued for sending. A client that falls this far behind
    /// on events is dropped; responses wait for room instead.
    /// </summary>
    public int OutboxCapacity { get; init; } = 1024;

    /// <summary>
    /// Bytes a session may have queued for sending. Past it, the session stops reading its
    /// client until the client reads (a single bigger message still goes out, alone).
    /// </summary>
    public long OutboxByteLimit { get; init; } = 1 << 20;

    /// <summary>
    /// Hold every client's greeting until <see cref="QmpServer.StartServing"/>, as QEMU greets
    /// only once its main loop runs: a client that connects during start-up (the socket exists
    /// as soon as it is bound) then never sees the command line's netdevs half-made.
    /// </summary>
    public bool GreetAfterStartup { get; init; }
}
