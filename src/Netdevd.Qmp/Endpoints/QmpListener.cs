using System.Net;
using System.Net.Sockets;

namespace Netdevd.Qmp.Endpoints;

/// <summary>
/// One listening socket of the QMP server. A unix socket file is created with mode 0600
/// (only the owner may drive the daemon), replaces a stale socket file left by a previous
/// run, and is removed again when the listener is disposed.
/// </summary>
internal sealed class QmpListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly TaskCompletionSource _firstClient = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private QmpListener(QmpEndpointSpec spec, Socket socket, EndPoint boundEndPoint)
    {
        Spec = spec;
        _socket = socket;
        BoundEndPoint = boundEndPoint;
    }

    public QmpEndpointSpec Spec { get; }

    /// <summary>The address actually bound (with the chosen port for <c>tcp:...:0</c>).</summary>
    public EndPoint BoundEndPoint { get; }

    /// <summary>Completes when the first client has connected (for <c>wait=on</c>).</summary>
    public Task FirstClient => _firstClient.Task;

    public static QmpListener Open(QmpEndpointSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Kind == QmpEndpointKind.Unix ? OpenUnix(spec) : OpenTcp(spec);
    }

    public async Task<Socket> AcceptAsync(CancellationToken cancellationToken)
    {
        var client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        if (Spec.Kind == QmpEndpointKind.Tcp && Spec.NoDelay)
        {
            try
            {
                client.NoDelay = true;
            }
            catch (SocketException)
            {
                // A client already gone (reset): its session finds out on its first read.
            }
        }

        _firstClient.TrySetResult();
        return client;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _socket.Dispose();
        _firstClient.TrySetCanceled();
        if (Spec.Kind == QmpEndpointKind.Unix)
        {
            TryDeleteSocketFile(Spec.Path);
        }

        return ValueTask.CompletedTask;
    }

    private static QmpListener OpenUnix(QmpEndpointSpec spec)
    {
        // sun_path holds 108 bytes with .NET's terminating NUL: say so in QEMU's words, not .NET's.
        if (System.Text.Encoding.UTF8.GetByteCount(spec.Path) >= 108)
        {
            throw new IOException($"UNIX socket path '{spec.Path}' is too long");
        }

        RemoveStaleSocket(spec.Path);
        var endPoint = new UnixDomainSocketEndPoint(spec.Path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(endPoint);

            // Between bind and listen nobody can connect, so tightening the mode here leaves no window.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(spec.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            socket.Listen(16);
            return new QmpListener(spec, socket, endPoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"Failed to bind socket to {spec.Path}: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static QmpListener OpenTcp(QmpEndpointSpec spec)
    {
        var address = ResolveBindAddress(spec.Host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                // "tcp::PORT" listens on every address, IPv4 included, as QEMU does.
                socket.DualMode = true;
            }

            // QEMU sets SO_REUSEADDR on listening sockets so a restart can rebind at once.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(address, spec.Port));
            socket.Listen(16);
            return new QmpListener(spec, socket, socket.LocalEndPoint!);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"Failed to bind socket: {e.Message}", e);
        }
    }

    private static IPAddress ResolveBindAddress(string host)
    {
        if (host.Length == 0)
        {
            return Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any;
        }

        if (IPAddress.TryParse(host, out var literal))
        {
            return literal;
        }

        try
        {
            var addresses = Dns.GetHostAddresses(host);
            if (addresses.Length > 0)
            {
                return addresses[0];
            }
        }
        catch (SocketException)
        {
            // Reported below with QEMU's wording.
        }

        throw new IOException($"address resolution failed for {host}: Name or service not known");
    }

    /// <summary>
    /// Deletes a socket file nobody listens on any more (QEMU unlinks the path unconditionally).
    /// A live socket (another daemon) is left alone and reported, and so is a non-empty file.
    /// </summary>
    private static void RemoveStaleSocket(string path)
    {
        var info = new FileInfo(path);
        if (Directory.Exists(path) || (info.Exists && info.Length > 0))
        {
            // A socket file has size 0; anything else is somebody's data, never deleted.
            throw new IOException($"Failed to bind socket to {path}: the path exists and is not a socket");
        }

        if (!info.Exists)
        {
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"Failed to bind socket to {path}: Address already in use");
            }
            catch (SocketException)
            {
                // Nobody answers: a leftover from a previous run.
            }
        }

        File.Delete(path);
    }

    private static void TryDeleteSocketFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort at shutdown.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
