namespace Netdevd.Daemon.Tests;

/// <summary>--io-threads (default: a thread per netdev): where the netdevs' frames are moved, as a user sees it (ps -L) and as traffic shows.</summary>
public sealed class IoThreadsTests
{
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
            using var a = await StreamPeer.ConnectAsync($"{dir}/a.sock", daemon);
            using var b = await StreamPeer.ConnectAsync($"{dir}/b.sock", daemon);

            var frame = new byte[1514];
            Random.Shared.NextBytes(frame);
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(a, b, frame));
            frame[0] ^= 0xff;
            Assert.Equal(frame, await StreamPeer.ExchangeAsync(b, a, frame));

            var names = daemon.ThreadNames;
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

    [Fact]
    public async Task A_user_netdevs_host_side_moves_onto_the_thread_of_the_backend_that_carries_its_guest()
    {
        // A thread per netdev (the default): the guest's datagram to the host is read and NATed on
        // the stream netdev's thread; the host's answer is then read there too, not by a second
        // thread that has to be woken, and the user netdev's own thread ends.
        var dir = Directory.CreateTempSubdirectory("nd-io-").FullName;
        try
        {
            using var server = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            var port = ((System.Net.IPEndPoint)server.Client.LocalEndPoint!).Port;
            var echo = Task.Run(async () =>
            {
                while (true)
                {
                    var r = await server.ReceiveAsync(TestContext.Current.CancellationToken);
                    await server.SendAsync((ReadOnlyMemory<byte>)(byte[])[.. "re:"u8, .. r.Buffer], r.RemoteEndPoint, TestContext.Current.CancellationToken);
                }
            }, TestContext.Current.CancellationToken);

            await using var daemon = DaemonProcess.Start(
            [
                "--netdev", "user,id=u",
                "--netdev", $"stream,id=a,server=on,addr.type=unix,addr.path={dir}/a.sock",
                "--netdev", "hubport,id=hu,hubid=0,netdev=u",
                "--netdev", "hubport,id=ha,hubid=0,netdev=a",
                "--qmp", $"unix:{dir}/q.sock,server=on,wait=off",
            ]);
            // Until a guest connects, the user netdev's host side runs on a thread of its own.
            Assert.True(SpinWait.SpinUntil(() => daemon.HasExited || daemon.ThreadNames.Contains("user-u"), TimeSpan.FromSeconds(20)), string.Join(", ", daemon.ThreadNames));
            using var guest = await StreamPeer.ConnectAsync($"{dir}/a.sock", daemon);

            Assert.Equal("re:one"u8.ToArray(), UdpPayload(await StreamPeer.RequestAsync(guest, GuestUdp(port, "one"u8), f => UdpPayload(f).Length > 0)));
            Assert.True(SpinWait.SpinUntil(() => !daemon.ThreadNames.Contains("user-u"), TimeSpan.FromSeconds(10)), string.Join(", ", daemon.ThreadNames));
            Assert.Contains("stream:a", daemon.ThreadNames);

            // The host side works from its new thread.
            Assert.Equal("re:two"u8.ToArray(), UdpPayload(await StreamPeer.RequestAsync(guest, GuestUdp(port, "two"u8), f => UdpPayload(f).Length > 0)));

            // The stream netdev is deleted: its thread goes on serving the user netdev, and is
            // listed under the user netdev's name, not under one of a netdev that is gone.
            var thread = daemon.ThreadIdOf("stream:a");
            Assert.NotNull(thread);
            using var qmp = await QmpClient.ConnectAsync($"{dir}/q.sock");
            Assert.NotNull((await qmp.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"a"}}"""))["return"]);
            Assert.True(SpinWait.SpinUntil(() => daemon.ThreadIdOf("user-u") == thread, TimeSpan.FromSeconds(10)), string.Join(", ", daemon.ThreadNames));
            Assert.DoesNotContain("stream:a", daemon.ThreadNames);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>A UDP datagram from the guest (10.0.2.15:40000) to the virtual host (10.0.2.2:PORT, the host's loopback).</summary>
    private static byte[] GuestUdp(int port, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[14 + 20 + 8 + payload.Length];
        byte[] gateway = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
        byte[] guestMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        gateway.CopyTo(frame, 0);
        guestMac.CopyTo(frame, 6);
        frame[12] = 0x08;
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;
        ip[9] = 17;
        byte[] source = [10, 0, 2, 15];
        byte[] destination = [10, 0, 2, 2];
        source.CopyTo(ip[12..]);
        destination.CopyTo(ip[16..]);
        uint sum = 0;
        for (var i = 0; i < 20; i += 2)
        {
            sum += System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        var udp = frame.AsSpan(34);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)port);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        return frame;
    }

    /// <summary>The payload of a UDP datagram for the guest's port 40000 (empty for any other frame; a short frame comes padded to 60 bytes).</summary>
    private static byte[] UdpPayload(byte[] frame)
    {
        var udp = 14 + ((frame.Length > 14 ? frame[14] : 0) & 0xf) * 4;
        if (frame.Length < udp + 8 || frame[12] != 0x08 || frame[13] != 0 || frame[23] != 17 || frame[udp + 2] != 0x9c || frame[udp + 3] != 0x40)
        {
            return [];
        }

        var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(udp + 4));
        return length >= 8 && udp + length <= frame.Length ? frame[(udp + 8)..(udp + length)] : [];
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
}
