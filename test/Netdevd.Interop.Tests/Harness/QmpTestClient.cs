using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Netdevd.Interop.Tests.Harness;

/// <summary>
/// A plain QMP client for tests: connects to a unix socket, reads the greeting, negotiates,
/// sends commands and collects events. Independent of netdevd's own QMP code on purpose.
/// </summary>
internal sealed class QmpTestClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly System.IO.Stream _stream;
    private readonly List<JsonObject> _events = [];

    private QmpTestClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public JsonObject Greeting { get; private set; } = [];

    public static async Task<QmpTestClient> ConnectAsync(string path, TimeSpan timeout, bool negotiate = true)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(path));
                var c = new QmpTestClient(s);
                c.Greeting = await c.ReadObjectAsync(deadline - DateTime.UtcNow);
                if (negotiate)
                {
                    var r = await c.ExecuteAsync("qmp_capabilities");
                    Assert.True(r.ContainsKey("return"), r.ToJsonString());
                }

                return c;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                s.Dispose();
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Sends a command and returns its response object (events seen meanwhile are kept).</summary>
    public async Task<JsonObject> ExecuteAsync(string command, object? arguments = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            request["arguments"] = JsonSerializer.SerializeToNode(arguments);
        }

        return await SendRawAsync(request.ToJsonString());
    }

    public async Task<JsonObject> SendRawAsync(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        await _stream.WriteAsync(bytes);
        while (true)
        {
            var o = await ReadObjectAsync(TimeSpan.FromSeconds(30));
            if (o.ContainsKey("event"))
            {
                _events.Add(o);
                continue;
            }

            return o;
        }
    }

    /// <summary>Waits for the next event named <paramref name="name"/> (consuming it).</summary>
    public async Task<JsonObject> WaitEventAsync(string name, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var i = _events.FindIndex(e => (string?)e["event"] == name);
            if (i >= 0)
            {
                var e = _events[i];
                _events.RemoveAt(i);
                return e;
            }

            var o = await ReadObjectAsync(deadline - DateTime.UtcNow);
            if (o.ContainsKey("event"))
            {
                _events.Add(o);
            }
        }
    }

    private async Task<JsonObject> ReadObjectAsync(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            throw new TimeoutException("QMP: nothing arrived in time");
        }

        using var cts = new CancellationTokenSource(timeout);
        var line = await _reader.ReadLineAsync(cts.Token) ?? throw new EndOfStreamException("QMP connection closed");
        return JsonNode.Parse(line)!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
