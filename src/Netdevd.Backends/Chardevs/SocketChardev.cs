using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Stream;
using Netdevd.Core.Chardevs;
using Netdevd.Core.Retry;
using Netdevd.Native;
using Netdevd.Qapi.Schema;
using QapiSocketAddress = Netdevd.Qapi.Schema.SocketAddress;

namespace Netdevd.Backends.Chardevs;

/// <summary>
/// A socket chardev (QEMU's chardev/char-socket.c): a listener that hands out the clients it
/// accepts one after another, or a client that connects (again, after reconnect-ms) on demand.
/// </summary>
internal sealed class SocketChardev : Chardev
{
    private readonly QapiSocketAddress _address;
    private readonly bool _server;

    // A server that takes its first client before it is ready (wait=on).
    private readonly bool _wait;
    private readonly Lock _lock = new();
    private Socket? _listener;
    private string? _unlinkPath;
    private Socket? _pending;
    private Socket? _connecting;
    private string _filename;
    private bool _disposed;

    public SocketChardev(string id, QapiSocketAddress address, bool server, bool wait, TimeSpan reconnectDelay)
        : base(id)
    {
        _address = address;
        _server = server;
        _wait = wait;
        ReconnectDelay = reconnectDelay;
        _filename = DisconnectedName();
    }

    public override string Filename
    {
        get
        {
            lock (_lock)
            {
                return _filename;
            }
        }
    }

    public override bool IsReconnectable => true;

    public override bool SupportsFdPassing => _address.Type == SocketAddressType.Unix;

    public override TimeSpan ReconnectDelay { get; }

    /// <summary>
    /// qmp_chardev_open_socket's part that waits on nothing outside this process, run under the
    /// registry's gate: a server binds and listens.
    /// </summary>
    public void Listen()
    {
        if (!_server)
        {
            return;
        }

        var listener = StreamListen.Listen(_address, out _unlinkPath);
        lock (_lock)
        {
            _listener = listener;
            _filename = DisconnectedName();
        }
    }

    /// <summary>
    /// qmp_chardev_open_socket's part that waits on the far end, run outside the registry's gate
    /// with the id reserved: a server with wait takes its first client (tcp_chr_accept_server_sync);
    /// a client without reconnect connects now, as QEMU's tcp_chr_connect_client_sync, so that a
    /// refused connection fails the chardev. Either ends with <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task WhenReadyAsync(CancellationToken cancellationToken)
    {
        Socket first;
        if (_server && _wait)
        {
            first = await _listener!.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (!_server && ReconnectDelay == TimeSpan.Zero)
        {
            first = await ConnectOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            return;
        }

        Connected(first);
        lock (_lock)
        {
            if (!_disposed)
            {
                // Handed to the first ConnectAsync, as QEMU's front-end finds the chardev connected.
                _pending = first;
                return;
            }
        }

        first.Dispose();
        throw new ObjectDisposedException(GetType().FullName);
    }

    public override async ValueTask<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        Socket? pending;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            pending = _pending;
            _pending = null;
        }

        if (pending is not null)
        {
            return pending;
        }

        if (_server)
        {
            var accepted = await _listener!.AcceptAsync(cancellationToken).ConfigureAwait(false);
            Connected(accepted);
            return accepted;
        }

        if (ReconnectDelay == TimeSpan.Zero)
        {
            // QEMU's client without reconnect connects once, at creation; after that it stays down.
            throw new ChardevException($"chardev \"{Id}\" is not connected");
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var socket = await ConnectOnceAsync(cancellationToken).ConfigureAwait(false);
                Connected(socket);
                return socket;
            }
            catch (SocketSetupException)
            {
                // As tcp_chr_reconnect_timeout: try again after the delay, quietly.
                await LongWait.DelayAsync(ReconnectDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One connect, ended by <paramref name="cancellationToken"/>: a unix one waits while the
    /// back-end's backlog is full until then (a blocking connect there waits for ever and closing
    /// the socket does not wake it: the netdev's thread, and closing the netdev, waited with it);
    /// an inet or vsock one blocks, so cancelling closes its socket.
    /// </summary>
    private async Task<Socket> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        void Track(Socket? socket)
        {
            Volatile.Write(ref _connecting, socket);

            // A socket made after the cancellation (an inet host's next address) would go unclosed.
            if (socket is not null && cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
            }
        }

        Socket connected;
        using (cancellationToken.Register(static c => Volatile.Read(ref ((SocketChardev)c!)._connecting)?.Dispose(), this))
        {
            try
            {
                connected = (await Task.Run(() => StreamConnect.ConnectAsync(_address, Track, cancellationToken), cancellationToken).ConfigureAwait(false)).Socket;
            }
            catch (SocketSetupException) when (cancellationToken.IsCancellationRequested)
            {
                // The connect failed because cancelling closed its socket: a cancellation, not a refusal.
                throw new OperationCanceledException(cancellationToken);
            }
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // Cancelled as it connected: the socket may be closed already.
            connected.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
        }

        return connected;
    }

    public override void Disconnected()
    {
        lock (_lock)
        {
            _filename = DisconnectedName();
        }
    }

    public override ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
        }

        _pending?.Dispose();
        _connecting?.Dispose();
        if (_listener is not null)
        {
            Listeners.Close(_listener);
        }

        if (_unlinkPath is not null)
        {
            try
            {
                File.Delete(_unlinkPath);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>qemu_chr_compute_filename: the local address, and for TCP the peer's after "&lt;-&gt;".</summary>
    private void Connected(Socket socket)
    {
        var suffix = _server ? ",server=on" : string.Empty;
        string name;
        if (socket.LocalEndPoint is IPEndPoint local && socket.RemoteEndPoint is IPEndPoint remote)
        {
            name = $"tcp:{Host(local)}:{local.Port}{suffix} <-> {Host(remote)}:{remote.Port}";
        }
        else
        {
            var path = socket.AddressFamily == AddressFamily.Unix && socket.LocalEndPoint is { } ep
                ? SocketAddressText.Describe(ep).Unix?.Path ?? string.Empty
                : string.Empty;
            name = $"unix:{path}{suffix}";
        }

        lock (_lock)
        {
            _filename = name;
        }
    }

    private static string Host(IPEndPoint ep)
    {
        var text = (ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address).ToString();
        return ep.AddressFamily == AddressFamily.InterNetworkV6 && !ep.Address.IsIPv4MappedToIPv6 ? $"[{text}]" : text;
    }

    /// <summary>update_disconnected_filename: "disconnected:" and SocketAddress_to_str of the address (the bound one once listening).</summary>
    private string DisconnectedName()
    {
        var address = _listener?.LocalEndPoint is { } ep && _address.Type != SocketAddressType.Unix ? SocketAddressText.Describe(ep) : _address;
        var text = address.Type switch
        {
            SocketAddressType.Inet when address.Inet!.Host.Contains(':', StringComparison.Ordinal) => $"tcp:[{address.Inet.Host}]:{address.Inet.Port}",
            SocketAddressType.Inet => $"tcp:{address.Inet!.Host}:{address.Inet.Port}",
            SocketAddressType.Unix => $"unix:{address.Unix!.Path}",
            SocketAddressType.Vsock => $"vsock:{address.Vsock!.Cid}:{address.Vsock.Port}",
            _ => $"fd:{address.Fd!.Str}",
        };
        return $"disconnected:{text}{(_server ? ",server=on" : string.Empty)}";
    }
}
