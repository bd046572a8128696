using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Netdevd.Qmp.Session;

/// <summary>
/// What a session has still to send, in order: greeting, responses, events. Bounded in
/// messages and in bytes, so a client that stops reading costs a fixed amount of memory.
/// Responses wait for room (the session then stops reading that client, as QEMU stops reading
/// a monitor whose output is stuck); events never wait: when the outbox is full, the client is
/// dropped.
/// </summary>
/// <remarks>
/// The byte bound matters because one response can be large (an error quoting a stray token of
/// up to 64 MiB): counting messages alone let a client that never reads pile up a thousand of
/// them. A message bigger than the bound still goes out, alone.
/// </remarks>
internal sealed class QmpOutbox
{
    private readonly Channel<byte[]> _channel;
    private readonly long _maxBytes;
    private long _queuedBytes;
    private TaskCompletionSource? _roomWaiter;

    public QmpOutbox(int capacity, long maxBytes)
    {
        _maxBytes = maxBytes;
        _channel = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Bytes queued and not yet fully sent.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Queues a response (or the greeting), waiting for room. One writer at a time.</summary>
    public async ValueTask PostAsync(byte[] message, CancellationToken cancellationToken)
    {
        while (!HasRoomFor(message.Length))
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _roomWaiter, waiter);

            // The sender may have made room between the check and publishing the waiter.
            if (HasRoomFor(message.Length))
            {
                break;
            }

            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Add(ref _queuedBytes, message.Length);
        try
        {
            await _channel.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Add(ref _queuedBytes, -message.Length);
            throw;
        }
    }

    /// <summary>Queues an event without waiting; false when the outbox is full or closed.</summary>
    public bool TryPost(byte[] message)
    {
        Interlocked.Add(ref _queuedBytes, message.Length);
        if (_channel.Writer.TryWrite(message))
        {
            return true;
        }

        Interlocked.Add(ref _queuedBytes, -message.Length);
        return false;
    }

    /// <summary>No more messages; the send loop ends after the queued ones.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>The queued messages; each counts against the bound until the caller asks for the next.</summary>
    public async IAsyncEnumerable<byte[]> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var message))
            {
                yield return message;
                Interlocked.Add(ref _queuedBytes, -message.Length);
                Interlocked.Exchange(ref _roomWaiter, null)?.TrySetResult();
            }
        }
    }

    private bool HasRoomFor(int length)
    {
        var queued = Interlocked.Read(ref _queuedBytes);
        return queued == 0 || queued + length <= _maxBytes;
    }
}
