using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Netdevd.Daemon.Tests;

/// <summary>A minimal line-based QMP client for checking the daemon from outside.</summary>
internal sealed class QmpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly NetworkStream _stream;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public static async Task<QmpClient> ConnectAsync(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(path));
            var c = new QmpClient(s);
            _ = await c.ReadAsync(); // greeting
            var r = await c.ExecuteAsync("{\"execute\":\"qmp_capabilities\"}");
            Assert.NotNull(r["return"]);
            return c;
        }
        catch
        {
            // A failed attempt must not hold a connection (and a descriptor of the daemon's).
            s.Dispose();
            throw;
        }
    }

    public async Task<JsonObject> ExecuteAsync(string json)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(json + "\n"));
        while (true)
        {
            var o = await ReadAsync();
            if (!o.ContainsKey("event"))
            {
                return o;
            }
        }
    }

    /// <summary>Sends a request without waiting for its answer (a command that stays pending).</summary>
    public async Task SendAsync(string json) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(json + "\n"));

    private async Task<JsonObject> ReadAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = await _reader.ReadLineAsync(cts.Token) ?? throw new EndOfStreamException();
        return JsonNode.Parse(line)!.AsObject();
    }

    public void Dispose()
    {
        _reader.Dispose();
        _socket.Dispose();
    }
}
