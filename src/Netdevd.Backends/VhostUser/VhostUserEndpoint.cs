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

    /// <summary>A client: without <paramref name="retry"/> the first connect happens now and its failure is the netdev's.</summary>
    public static VhostUserEndpoint Connect(QapiSocketAddress address, TimeSpan? retry)
    {
        Socket? first = null;
        if (retry is null)
        {
            first = StreamConnect.Connect(address, static _ => { }).Socket;
        }

        return new VhostUserEndpoint(address, null, null, first, retry);
    }

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
            return StreamConnect.Connect(_address, static _ => { }).Socket;
        }
        catch (SocketSetupException e)
        {
            failure = $"error: {e.Message}";
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
