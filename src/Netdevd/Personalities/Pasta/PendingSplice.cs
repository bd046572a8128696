using Netdevd.UserNet.Host;

namespace Netdevd.Personalities.Pasta;

/// <summary>
/// A host client whose connect on the namespace's loopback was not decided within the connect
/// call (the listener's backlog is full and its SYN was dropped): the relay's thread watches the
/// namespace's socket for the outcome until <see cref="Deadline"/>, then joins the pair or gives
/// the client back to the user netdev. Only the relay's thread touches it once handed over.
/// </summary>
internal sealed class PendingSplice(int client, int inner, ISpliceFallback fallback, long deadline)
{
    public int Client { get; } = client;

    public int Inner { get; } = inner;

    public ISpliceFallback Fallback { get; } = fallback;

    /// <summary>When it gives up (<see cref="Environment.TickCount64"/>).</summary>
    public long Deadline { get; } = deadline;

    /// <summary>The relay's slot for it (its epoll token is derived from it).</summary>
    public int Slot { get; set; }
}
