using System.Net;
using System.Net.Sockets;

namespace Netdevd.Interop.Tests.Harness;

/// <summary>The test's own end of a datagram link: one datagram is one frame.</summary>
internal sealed class DatagramFramePeer : IDisposable
{
    private readonly Socket _socket;
    private readonly EndPoint _remote;

    public DatagramFramePeer(EndPoint local, EndPoint remote)
    {
        _socket = new Socket(local.AddressFamily, SocketType.Dgram, local.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Udp);
        _socket.Bind(local);
        _remote = remote;
    }

    public async Task SendAsync(ReadOnlyMemory<byte> frame)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _socket.SendToAsync(frame, SocketFlags.None, _remote, cts.Token);
    }

    public async Task<byte[]> ReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[70000];
        var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return buffer[..n];
    }

    public void Dispose() => _socket.Dispose();
}
