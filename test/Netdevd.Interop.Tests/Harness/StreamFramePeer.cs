using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Netdevd.Interop.Tests.Harness;

/// <summary>
/// The test's own end of a QEMU stream/socket link: writes and reads frames with the 4-byte
/// big-endian length prefix, written here independently of netdevd's framing code.
/// </summary>
internal sealed class StreamFramePeer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Socket? _listener;
    private readonly NetworkStream _stream;

    private StreamFramePeer(Socket socket, Socket? listener)
    {
        _socket = socket;
        _listener = listener;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Listens on <paramref name="endPoint"/>; the returned task completes when a client arrives.</summary>
    public static (Socket Listener, Func<Task<StreamFramePeer>> Accept) Listen(EndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        listener.Bind(endPoint);
        listener.Listen(1);
        return (listener, async () =>
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var s = await listener.AcceptAsync(cts.Token);
            return new StreamFramePeer(s, listener);
        });
    }

    public static async Task<StreamFramePeer> ConnectAsync(EndPoint endPoint, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
            try
            {
                await s.ConnectAsync(endPoint);
                return new StreamFramePeer(s, null);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                s.Dispose();
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Writes one frame; a peer that stops reading fails the test after 30 s instead of hanging it.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> frame)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)frame.Length);
        using var cts = new CancellationTokenSource(WriteTimeout);
        await _stream.WriteAsync(header, cts.Token);
        await _stream.WriteAsync(frame, cts.Token);
    }

    /// <summary>Writes raw bytes (for malformed-input tests).</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = new CancellationTokenSource(WriteTimeout);
        await _stream.WriteAsync(bytes, cts.Token);
    }

    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(30);

    public async Task<byte[]> ReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var header = new byte[4];
        await _stream.ReadExactlyAsync(header, cts.Token);
        var frame = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
        await _stream.ReadExactlyAsync(frame, cts.Token);
        return frame;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
        _listener?.Dispose();
    }
}
