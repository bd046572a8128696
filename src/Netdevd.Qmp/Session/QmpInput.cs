using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qmp.Session;

/// <summary>
/// The request side of a session: bytes in, in whatever pieces the socket delivers them
/// (several requests in one read, one request over many reads), complete JSON values or
/// parse errors out, in order.
/// </summary>
internal sealed class QmpInput
{
    private readonly List<QmpJsonResult> _ready = [];
    private readonly QmpJsonStreamer _streamer;

    public QmpInput() => _streamer = new QmpJsonStreamer(_ready.Add);

    // A message whose buffers grew past this is worth giving the memory back for once it is done.
    private const long LargeInput = 8 << 20;

    private long _peakRetained;

    /// <summary>Feeds bytes; returns what they completed.</summary>
    public IReadOnlyList<(QObject? Value, string? Error)> Feed(ReadOnlySpan<byte> bytes)
    {
        _ready.Clear();
        _streamer.Feed(bytes);
        var retained = _streamer.RetainedBytes;
        _peakRetained = Math.Max(_peakRetained, retained);
        if (_peakRetained >= LargeInput && retained < LargeInput)
        {
            // The streamer has let go of a big message's buffers: return them to the system too.
            _peakRetained = retained;
            MemoryReclaim.Request();
        }

        var items = new (QObject?, string?)[_ready.Count];
        for (var i = 0; i < _ready.Count; i++)
        {
            items[i] = _ready[i].IsError ? (null, _ready[i].Error!.Message) : (_ready[i].Value, null);
        }

        return items;
    }
}
