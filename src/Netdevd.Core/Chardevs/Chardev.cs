using System.Net.Sockets;

namespace Netdevd.Core.Chardevs;

/// <summary>
/// A character device (QEMU's Chardev): a named endpoint that one front-end, such as a
/// vhost-user netdev, claims and talks through. netdevd provides the socket kind only.
/// </summary>
public abstract class Chardev : IAsyncDisposable
{
    private object? _user;

    protected Chardev(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        Id = id;
    }

    /// <summary>The chardev's id (QEMU's label).</summary>
    public string Id { get; }

    /// <summary>What <c>query-chardev</c> shows as <c>filename</c>, e.g. <c>disconnected:unix:/p,server=on</c>.</summary>
    public abstract string Filename { get; }

    /// <summary>QEMU's QEMU_CHAR_FEATURE_RECONNECTABLE: the connection may come and go (sockets).</summary>
    public abstract bool IsReconnectable { get; }

    /// <summary>QEMU's QEMU_CHAR_FEATURE_FD_PASS: descriptors can travel with the bytes (unix sockets).</summary>
    public abstract bool SupportsFdPassing { get; }

    /// <summary>How long a client waits before connecting again after losing its peer; zero: it does not.</summary>
    public abstract TimeSpan ReconnectDelay { get; }

    /// <summary>Whether a front-end holds it (QEMU's qemu_chr_is_busy): it cannot be removed then.</summary>
    public bool IsBusy => Volatile.Read(ref _user) is not null;

    /// <summary>Attaches <paramref name="user"/>; false when another front-end has it (QEMU: "Device '%s' is in use").</summary>
    public bool TryClaim(object user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return Interlocked.CompareExchange(ref _user, user, null) is null;
    }

    /// <summary>Detaches <paramref name="user"/> if it holds the chardev.</summary>
    public void Release(object user) => Interlocked.CompareExchange(ref _user, null, user);

    /// <summary>
    /// The next connection: a server accepts one (or hands over the one it waited for at
    /// start-up), a client connects, again every <see cref="ReconnectDelay"/> while that
    /// fails when it reconnects. Throws <see cref="ChardevException"/> when no connection
    /// can come (a client that does not reconnect).
    /// </summary>
    public abstract ValueTask<Socket> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>The front-end's connection ended (QEMU's CHR_EVENT_CLOSED): the filename says so again.</summary>
    public abstract void Disconnected();

    public abstract ValueTask DisposeAsync();
}
