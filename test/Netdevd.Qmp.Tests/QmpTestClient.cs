using System.Net.Sockets;
using System.Text;
using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qmp.Tests;

/// <summary>A QMP client over a real socket that reads CRLF-terminated lines and checks their framing.</summary>
internal sealed class QmpTestClient : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly Socket _socket;
    private readonly List<byte> _pending = [];
    private readonly byte[] _buffer = new byte[65536];

    public QmpTestClient(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        var sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        }
    }

    /// <summary>One line as sent, without its CRLF; asserts that it ended in CRLF.</summary>
    public async Task<string> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(s_timeout);
        while (true)
        {
            var lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                Assert.True(lf > 0 && _pending[lf - 1] == '\r', "QMP lines end in CRLF");
                var line = Encoding.ASCII.GetString([.. _pending.GetRange(0, lf - 1)]);
                _pending.RemoveRange(0, lf + 1);
                return line;
            }

            var n = await _socket.ReceiveAsync(_buffer, SocketFlags.None, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("server closed the connection");
            }

            _pending.AddRange(_buffer.AsSpan(0, n));
        }
    }

    public async Task<QDict> ReadAsync() => Assert.IsType<QDict>(QmpJson.Parse(await ReadLineAsync()));

    /// <summary>Reads the next message that is not an event.</summary>
    public async Task<QDict> ReadResponseAsync()
    {
        while (true)
        {
            var m = await ReadAsync();
            if (!m.ContainsKey("event"))
            {
                return m;
            }
        }
    }

    public async Task<QDict> ExecuteAsync(string request)
    {
        await SendAsync(request);
        return await ReadResponseAsync();
    }

    /// <summary>True when the server closed the connection (reads end of stream) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        using var cts = new CancellationTokenSource(s_timeout);
        try
        {
            while (true)
            {
                if (await _socket.ReceiveAsync(_buffer, SocketFlags.None, cts.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
