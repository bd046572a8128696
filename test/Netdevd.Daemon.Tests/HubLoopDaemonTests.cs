using System.Buffers.Binary;
using System.Net.Sockets;

namespace Netdevd.Daemon.Tests;

/// <summary>
/// <c>netdev_add hubport id=p2,hubid=1,netdev=p1</c> with p1 a port of hub 1, sent to a running
/// daemon: QEMU 7.2 accepts it, and so does netdevd, which then still answers, forwards frames
/// between its stream netdevs and deletes netdevs. Before, the command overflowed the stack and
/// the daemon aborted.
/// </summary>
public sealed class HubLoopDaemonTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_hub_loop_made_over_QMP_leaves_a_daemon_that_answers_and_forwards()
    {
        var dir = Directory.CreateTempSubdirectory("nd-loop-").FullName;
        try
        {
            await using var daemon = DaemonProcess.Start(
            [
                "--qmp", $"unix:{dir}/q.sock,server=on,wait=off",
                "--netdev", $"stream,id=a,server=on,addr.type=unix,addr.path={dir}/a.sock",
                "--netdev", $"stream,id=b,server=on,addr.type=unix,addr.path={dir}/b.sock",
                "--netdev", "hubport,id=ha,hubid=1,netdev=a",
                "--netdev", "hubport,id=hb,hubid=1,netdev=b",
            ]);
            using var a = await ConnectAsync($"{dir}/a.sock", daemon);
            using var b = await ConnectAsync($"{dir}/b.sock", daemon);
            using var qmp = await QmpClient.ConnectAsync($"{dir}/q.sock");
            var frame = new byte[1514];
            Random.Shared.NextBytes(frame);
            Assert.Equal(frame, await ExchangeAsync(a, b, frame));

            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"p1","type":"hubport","hubid":1}}"""))["return"]);
            var added = await qmp.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"p2","type":"hubport","hubid":1,"netdev":"p1"}}""");

            Assert.NotNull(added["return"]);
            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"query-version"}"""))["return"]);
            frame[0] ^= 0xff;
            Assert.Equal(frame, await ExchangeAsync(a, b, frame));
            frame[1] ^= 0xff;
            Assert.Equal(frame, await ExchangeAsync(b, a, frame));

            var netdevs = (await qmp.ExecuteAsync("""{"execute":"query-netdevs"}"""))["return"]!.AsArray();
            var p1 = netdevs.Single(n => (string)n!["id"]! == "p1")!;
            Assert.True((long)p1["stats"]!["loop-drops"]! >= 1);

            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"p2"}}"""))["return"]);
            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"p1"}}"""))["return"]);
            frame[2] ^= 0xff;
            Assert.Equal(frame, await ExchangeAsync(a, b, frame));
            Assert.False(daemon.HasExited, daemon.StandardError);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static async Task<Socket> ConnectAsync(string path, DaemonProcess daemon)
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
    /// Sends until the frame comes out of <paramref name="to"/> (frames sent before netdevd accepted
    /// are dropped, as QEMU drops them); first discards late copies of earlier attempts.
    /// </summary>
    private static async Task<byte[]> ExchangeAsync(Socket from, Socket to, byte[] frame)
    {
        while (to.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead))
        {
            var header = new byte[4];
            await ReceiveExactlyAsync(to, header);
            await ReceiveExactlyAsync(to, new byte[BinaryPrimitives.ReadUInt32BigEndian(header)]);
        }

        var wire = new byte[4 + frame.Length];
        BinaryPrimitives.WriteUInt32BigEndian(wire, (uint)frame.Length);
        frame.CopyTo(wire, 4);
        for (var attempt = 0; attempt < 40; attempt++)
        {
            await from.SendAsync(wire, TestContext.Current.CancellationToken);
            if (to.Poll(TimeSpan.FromMilliseconds(500), SelectMode.SelectRead))
            {
                var header = new byte[4];
                await ReceiveExactlyAsync(to, header);
                var received = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
                await ReceiveExactlyAsync(to, received);
                return received;
            }
        }

        return [];
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> into)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Patience);
        while (into.Length > 0)
        {
            var n = await socket.ReceiveAsync(into, timeout.Token);
            Assert.True(n > 0, "netdevd closed the connection");
            into = into[n..];
        }
    }
}
