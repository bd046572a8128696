using System.Net.Sockets;
using Netdevd.Backends.Stream;
using Netdevd.Native;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.VhostUser;

/// <summary>
/// Where front-ends come from: a listening unix socket (server, created with the netdev, its file
/// removed with it) or a path to connect to (client), with the pause between attempts.
/// </summary>
internal sealed class VhostUserEndpoint
{
    private readonly QapiSocketAddress _address;
    private readonly Socket? _listener;
    private readonly string? _unlinkPath;
    private Socket? _connecting;

    private VhostUserEndpoint(QapiSocketAddress address, Socket? listener, string? unlinkPath, Socket? first, TimeSpan? retry)
    {
        _address = address;
        _listener = listener;
        _unlinkPath = unlinkPath;
        _connecting = first;
        Retry = retry;
    }

    public bool IsServer => _listener is not null;

    /// <summary>Client: the pause before connecting again (reconnect-ms); null: connect once.</summary>
    public TimeSpan? Retry { get; }

    /// <summary>Binds and listens now, so that errors are the netdev's creation errors.</summary>
    public static VhostUserEndpoint Listen(QapiSocketAddress address)
    {
        var listener = StreamListen.Listen(address, out var unlinkPath);
        return new VhostUserEndpoint(address, listener, unlinkPath, null, null);
    }

    /// <summary>
    /// A client. Without <paramref name="retry"/> the first connect (<see cref="ConnectFirstAsync"/>)
    /// happens before the netdev is made and its failure is the netdev's.
    /// </summary>
    public static VhostUserEndpoint Connect(QapiSocketAddress address, TimeSpan? retry) => new(address, null, null, null, retry);

    /// <summary>Whether the netdev is ready only once <see cref="ConnectFirstAsync"/> has connected (a client without retry).</summary>
    public bool ConnectsFirst => _listener is null && Retry is null;

    /// <summary>The first connection of a client without retry; it waits while the front-end's backlog is full.</summary>
    public async Task ConnectFirstAsync(CancellationToken cancellationToken) =>
        _connecting = await StreamConnect.ConnectUnixAsync(_address.Unix!, cancellationToken).ConfigureAwait(false);

    public string Describe() => $"{(IsServer ? "listening on" : "connecting to")} unix:{_address.Unix!.Path}";

    /// <summary>
    /// Blocks for the next front-end: accepts one (server) or connects (client). Null when a
    /// client's attempt failed (<paramref name="failure"/> says why; the caller waits
    /// <see cref="Retry"/>) or a client without retry has had its one connection.
    /// </summary>
    public Socket? Next(CancellationToken cancel, out string? failure)
    {
        failure = null;
        if (_listener is not null)
        {
            return _listener.Accept();
        }

        var first = Interlocked.Exchange(ref _connecting, null);
        if (first is not null)
        {
            return first;
        }

        if (Retry is null || cancel.IsCancellationRequested)
        {
            return null;
        }

        try
        {
            // Cancellable where the front-end's backlog is full: a blocking connect would hold
            // this thread, and netdev_del's join with it, for ever.
            return StreamConnect.ConnectUnixAsync(_address.Unix!, cancel).GetAwaiter().GetResult();
        }
        catch (SocketSetupException e)
        {
            failure = $"error: {e.Message}";
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public void Close()
    {
        _listener?.Dispose();
        Interlocked.Exchange(ref _connecting, null)?.Dispose();
        if (_unlinkPath is not null)
        {
            _ = Libc.Unlink(_unlinkPath);
        }
    }
}
