using System.Buffers.Binary;
using System.Net.Sockets;

namespace Netdevd.Daemon.Tests;

/// <summary>The far end of a daemon's stream server in tests: connect, and pass frames in QEMU's 4-byte length framing.</summary>
internal static class StreamPeer
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Connects to the daemon's unix stream server, retrying while it is still starting.</summary>
    public static async Task<Socket> ConnectAsync(string path, DaemonProcess daemon)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
                return socket;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !daemon.HasExited)
            {
                socket.Dispose();
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="frame"/> on <paramref name="from"/> until it comes out of <paramref name="to"/>
    /// (empty when it never does): a connect returns before netdevd has accepted, and a frame for a
    /// port not yet connected is dropped (as QEMU drops it), so the first frames may be lost. Late
    /// copies of an earlier exchange still waiting on <paramref name="to"/> are read off first.
    /// </summary>
    public static async Task<byte[]> ExchangeAsync(Socket from, Socket to, byte[] frame)
    {
        while (to.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead))
        {
            _ = await ReceiveFrameAsync(to);
        }

        for (var attempt = 0; attempt < 40; attempt++)
        {
            await SendFrameAsync(from, frame);
            if (to.Poll(TimeSpan.FromMilliseconds(500), SelectMode.SelectRead))
            {
                return await ReceiveFrameAsync(to);
            }
        }

        return [];
    }

    /// <summary>
    /// Sends <paramref name="frame"/> on <paramref name="peer"/> until a frame comes back that
    /// <paramref name="isAnswer"/> accepts (other frames, such as router advertisements, are
    /// skipped); empty when none does.
    /// </summary>
    public static async Task<byte[]> RequestAsync(Socket peer, byte[] frame, Func<byte[], bool> isAnswer)
    {
        for (var attempt = 0; attempt < 40; attempt++)
        {
            await SendFrameAsync(peer, frame);
            while (peer.Poll(TimeSpan.FromMilliseconds(500), SelectMode.SelectRead))
            {
                var answer = await ReceiveFrameAsync(peer);
                if (isAnswer(answer))
                {
                    return answer;
                }
            }
        }

        return [];
    }

    private static async Task SendFrameAsync(Socket socket, byte[] frame)
    {
        var wire = new byte[4 + frame.Length];
        BinaryPrimitives.WriteUInt32BigEndian(wire, (uint)frame.Length);
        frame.CopyTo(wire, 4);
        await socket.SendAsync(wire, TestContext.Current.CancellationToken);
    }

    private static async Task<byte[]> ReceiveFrameAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Patience);
        var header = new byte[4];
        await ReceiveExactlyAsync(socket, header, timeout.Token);
        var frame = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
        await ReceiveExactlyAsync(socket, frame, timeout.Token);
        return frame;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> into, CancellationToken ct)
    {
        while (into.Length > 0)
        {
            var n = await socket.ReceiveAsync(into, ct);
            Assert.True(n > 0, "netdevd closed the connection");
            into = into[n..];
        }
    }
}
