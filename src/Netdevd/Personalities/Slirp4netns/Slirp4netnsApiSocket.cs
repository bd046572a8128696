using System.Net.Sockets;
using System.Text;

namespace Netdevd.Personalities.Slirp4netns;

/// <summary>
/// The listening socket of <c>--api-socket</c>. A client writes one request and shuts down its
/// write side (podman, rootlesskit); a request is also taken once it parses, for clients that
/// wait for the reply without shutting down. A client that sends nothing is dropped after
/// <see cref="IdleLimit"/>, so it cannot hold a connection forever.
/// </summary>
internal sealed class Slirp4netnsApiSocket : IAsyncDisposable
{
    private static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(10);
    private readonly Socket _listener;
    private readonly Slirp4netnsApi _api;
    private readonly string? _path;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private Slirp4netnsApiSocket(Socket listener, string? path, Slirp4netnsApi api)
    {
        _listener = listener;
        _path = path;
        _api = api;
        _accepting = AcceptAsync();
    }

    /// <summary>Binds and listens at <paramref name="path"/>, replacing a stale socket file as slirp4netns does.</summary>
    public static Slirp4netnsApiSocket Listen(string path, Slirp4netnsApi api) => new(Bind(path), path, api);

    /// <summary>
    /// Serves a socket <see cref="Bind"/> made before the sandbox: the sandbox cannot see its
    /// path, so it is left in place at the end, as by slirp4netns in its sandbox.
    /// </summary>
    public static Slirp4netnsApiSocket Adopt(int fd, Slirp4netnsApi api) =>
        new(new Socket(new SafeSocketHandle(fd, ownsHandle: true)), null, api);

    /// <summary>The listening socket at <paramref name="path"/>, a stale socket file replaced.</summary>
    public static Socket Bind(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(16);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return listener;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // Out of descriptors or a client gone before accept: try again shortly.
                await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            var buffer = new byte[Slirp4netnsApi.MaxRequest];
            var length = 0;
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            idle.CancelAfter(IdleLimit);
            try
            {
                while (length < buffer.Length)
                {
                    var n = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, idle.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    length += n;
                    if (IsCompleteJson(buffer.AsSpan(0, length)))
                    {
                        break;
                    }
                }

                if (length == 0)
                {
                    return;
                }

                var reply = Encoding.UTF8.GetBytes(_api.Handle(buffer.AsSpan(0, length)));
                _ = await client.SendAsync(reply, SocketFlags.None, idle.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);

                // Closing with unread input would reset the connection and could destroy the
                // reply in flight (a too-large request): read what is left, within bounds.
                for (var drained = 0; drained < 16 * Slirp4netnsApi.MaxRequest;)
                {
                    var n = await client.ReceiveAsync(buffer, SocketFlags.None, idle.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    drained += n;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private static bool IsCompleteJson(ReadOnlySpan<byte> data)
    {
        var reader = new System.Text.Json.Utf8JsonReader(data, isFinalBlock: false, state: default);
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth == 0 && reader.TokenType is System.Text.Json.JsonTokenType.EndObject or System.Text.Json.JsonTokenType.EndArray)
                {
                    return true;
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Malformed: let the handler say so.
            return true;
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
        try
        {
            if (_path is not null)
            {
                File.Delete(_path);
            }
        }
        catch (IOException)
        {
        }
    }
}
