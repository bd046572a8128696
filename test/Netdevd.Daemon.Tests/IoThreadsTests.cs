using System.Buffers.Binary;
using System.Net.Sockets;

namespace Netdevd.Daemon.Tests;

/// <summary>--io-threads (default: a thread per netdev): where the netdevs' frames are moved, as a user sees it (ps -L) and as traffic shows.</summary>
public sealed class IoThreadsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(null, new[] { "stream:a", "stream:b" }, new[] { "io0" })]
    [InlineData(0, new[] { "stream:a", "stream:b" }, new[] { "io0" })]
    [InlineData(1, new[] { "io0" }, new[] { "stream:a", "stream:b", "io1" })]
    [InlineData(2, new[] { "io0", "io1" }, new[] { "stream:a", "stream:b" })]
    public async Task Frames_cross_a_hub_whatever_the_threads(int? threads, string[] present, string[] absent)
    {
        var dir = Directory.CreateTempSubdirectory("nd-io-").FullName;
        try
        {
            string[] io = threads is { } n ? ["--io-threads", n.ToString(System.Globalization.CultureInfo.InvariantCulture)] : [];
            await using var daemon = DaemonProcess.Start(
            [
                .. io,
                "--qmp", $"unix:{dir}/q.sock,server=on,wait=off",
                "--netdev", $"stream,id=a,server=on,addr.type=unix,addr.path={dir}/a.sock",
                "--netdev", $"stream,id=b,server=on,addr.type=unix,addr.path={dir}/b.sock",
                "--netdev", "hubport,id=ha,hubid=0,netdev=a",
                "--netdev", "hubport,id=hb,hubid=0,netdev=b",
            ]);
            using var a = await ConnectAsync($"{dir}/a.sock", daemon);
            using var b = await ConnectAsync($"{dir}/b.sock", daemon);

            var frame = new byte[1514];
            Random.Shared.NextBytes(frame);
            Assert.Equal(frame, await ExchangeAsync(a, b, frame));
            frame[0] ^= 0xff;
            Assert.Equal(frame, await ExchangeAsync(b, a, frame));

            var names = ThreadNames(daemon.Pid);
            foreach (var name in present)
            {
                Assert.Contains(name, names);
            }

            foreach (var name in absent)
            {
                Assert.DoesNotContain(name, names);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("257")]
    public async Task An_out_of_range_count_is_refused(string value)
    {
        var (code, _, stderr) = await DaemonProcess.RunAsync("--io-threads", value, "--netdev", "hubport,id=h,hubid=0");

        Assert.Equal(1, code);
        Assert.Contains("--io-threads must be between 0 and 256.", stderr, StringComparison.Ordinal);
    }

    private static HashSet<string> ThreadNames(int pid) =>
        [.. Directory.GetDirectories($"/proc/{pid}/task").Select(t => File.ReadAllText(Path.Combine(t, "comm")).TrimEnd('\n'))];

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
    /// Sends <paramref name="frame"/> on <paramref name="from"/> until it comes out of <paramref name="to"/>:
    /// a connect returns before netdevd has accepted, and a frame for a port not yet connected is
    /// dropped (as QEMU drops it), so the first frames may be lost.
    /// </summary>
    private static async Task<byte[]> ExchangeAsync(Socket from, Socket to, byte[] frame)
    {
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
