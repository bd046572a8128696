using System.Threading.Channels;

namespace Netdevd.Qmp.Session;

/// <summary>
/// What a session has still to send, in order: greeting, responses, events. Bounded, so a
/// client that stops reading costs a fixed amount of memory. Responses wait for room (the
/// session then stops reading that client, as QEMU stops reading a monitor whose output is
/// stuck); events never wait: when the outbox is full, the client is dropped.
/// </summary>
internal sealed class QmpOutbox
{
    private readonly Channel<byte[]> _channel;

    public QmpOutbox(int capacity)
    {
        _channel = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Queues a response (or the greeting), waiting for room.</summary>
    public ValueTask PostAsync(byte[] message, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync(message, cancellationToken);

    /// <summary>Queues an event without waiting; false when the outbox is full or closed.</summary>
    public bool TryPost(byte[] message) => _channel.Writer.TryWrite(message);

    /// <summary>No more messages; the send loop ends after the queued ones.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    public IAsyncEnumerable<byte[]> ReadAllAsync(CancellationToken cancellationToken) =>
        _channel.Reader.ReadAllAsync(cancellationToken);
}
