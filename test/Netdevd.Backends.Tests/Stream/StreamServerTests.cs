using System.Net;
using System.Net.Sockets;
using Netdevd.Backends.Stream;
using Netdevd.Qapi.Errors;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Stream.StreamTestKit;

namespace Netdevd.Backends.Tests.Stream;

public sealed class StreamServerTests
{
    /// <summary>
    /// As the legacy socket's listener (SocketNetdevTests): a stream server deleted while a copy of
    /// its listener's descriptor lives (a forked child's, until its exec) frees its address at once.
    /// </summary>
    [Fact]
    public async Task A_deleted_server_frees_its_address_while_a_copy_of_its_descriptor_lives()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        var address = System.Net.IPAddress.Parse("127.77.0.3");
        var port = FreePortBelowEphemeralRange(address);
        await reg.AddAsync(StreamNetdev("s0", Inet("127.77.0.3", port), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        var copy = Netdevd.Native.Libc.Dup(ListeningSockets.Descriptor(address, port));
        Assert.True(copy >= 0, "dup of the listener failed");
        try
        {
            await reg.DeleteAsync("s0", Ct);

            // A stream server binds on its loop and reports a failure in its info, not to the add:
            // what listens is looked at instead. The first socket must have stopped listening
            // when the delete returned, and the second server must listen.
            Assert.Empty(ListeningSockets.Inodes(address, port));
            await reg.AddAsync(StreamNetdev("s1", Inet("127.77.0.3", port), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
            _ = ListeningSockets.Descriptor(address, port);
            await reg.DeleteAsync("s1", Ct);
        }
        finally
        {
            Netdevd.Native.Libc.Close(copy);
        }
    }

    [Fact]
    public async Task Inet_server_serves_one_client_at_a_time_with_events_info_and_link()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var port = FreePort();
        var client = await reg.AddAsync(StreamNetdev("s0", Inet("127.0.0.1", port), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        var nic = new FrameCapture("nic0");
        reg.AttachNic("s0", nic.Nic);
        await Eventually.WaitUntilAsync(() => client.Info == "listening", "listening");
        Assert.True(client.LinkDown);

        using var peer = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var connected = await events.WaitAsync("NETDEV_STREAM_CONNECTED");
        var local = (IPEndPoint)peer.Socket.LocalEndPoint!;
        Assert.Equal($"{{\"netdev-id\": \"s0\", \"addr\": {{\"type\": \"inet\", \"host\": \"127.0.0.1\", \"port\": \"{local.Port}\", \"ipv4\": true}}}}", Json(connected));
        Assert.Equal($"tcp:127.0.0.1:{local.Port}", client.Info);
        Assert.False(client.LinkDown);

        // Both ways, byte-exact.
        foreach (var len in new[] { 60, 1514, 9014, 65535 })
        {
            var f = Frame(len, len);
            nic.Nic.Transmit(f);
            Assert.Equal(f, peer.Receive());
            peer.Send(f);
            Assert.Equal(f, nic.Next());
        }

        // A second client waits in the backlog until the first leaves.
        using var second = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await Task.Delay(200, Ct);
        Assert.Single(events.Snapshot(), e => e.Name == "NETDEV_STREAM_CONNECTED");
        peer.Socket.Shutdown(SocketShutdown.Both);
        await events.WaitAsync("NETDEV_STREAM_DISCONNECTED");
        await events.WaitAsync("NETDEV_STREAM_CONNECTED", nth: 2);
        Assert.Equal(["NETDEV_STREAM_CONNECTED", "NETDEV_STREAM_DISCONNECTED", "NETDEV_STREAM_CONNECTED"], events.Names());
        Assert.Equal("{\"netdev-id\": \"s0\"}", Json(events.Snapshot()[1]));
        var f2 = Frame(100, 1);
        second.Send(f2);
        Assert.Equal(f2, nic.Next());

        second.Socket.Shutdown(SocketShutdown.Both);
        await events.WaitAsync("NETDEV_STREAM_DISCONNECTED", nth: 2);
        Assert.Equal("listening", client.Info);
        Assert.True(client.LinkDown);
    }

    [Fact]
    public async Task Busy_port_is_an_info_error_not_a_command_error()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        using var taken = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var client = await reg.AddAsync(StreamNetdev("s0", Inet("127.0.0.1", port), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info.StartsWith("error", StringComparison.Ordinal), "error info");
        Assert.Equal("error: Failed to find an available port: Address already in use", client.Info);
    }

    [Fact]
    public async Task Port_range_to_skips_busy_ports()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        using var taken = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var addr = Inet("127.0.0.1", port);
        addr.Inet!.To = (ushort)(port + 20);
        var client = await reg.AddAsync(StreamNetdev("s0", addr, server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info != "initializing", "listen outcome");
        Assert.Equal("listening", client.Info);
    }

    [Theory]
    [InlineData(true, null, "keep-alive option is not supported for passive sockets")]
    [InlineData(false, "unresolvable.invalid", "address resolution failed for unresolvable.invalid:1234: Name or service not known")]
    public async Task Listen_errors_have_qemu_texts(bool keepAlive, string? host, string expected)
    {
        await using var reg = NewRegistry(new RecordingEvents());
        var addr = Inet(host ?? "127.0.0.1", 1234);
        addr.Inet!.KeepAlive = keepAlive ? true : null;
        addr.Inet.Numeric = host is null ? null : false;
        var client = await reg.AddAsync(StreamNetdev("s0", addr, server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info.StartsWith("error", StringComparison.Ordinal), "error info");
        Assert.Equal("error: " + expected, client.Info);
    }

    [Fact]
    public async Task Ipv4_and_ipv6_off_is_refused_in_info()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        var addr = Inet("127.0.0.1", 1234);
        addr.Inet!.Ipv4 = false;
        addr.Inet.Ipv6 = false;
        var client = await reg.AddAsync(StreamNetdev("s0", addr, server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info.StartsWith("error", StringComparison.Ordinal), "error info");
        Assert.Equal("error: Cannot disable IPv4 and IPv6 at same time", client.Info);
    }

    [Fact]
    public async Task Reconnect_with_server_is_refused_synchronously()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        var e = await Assert.ThrowsAsync<QapiException>(() => reg.AddAsync(StreamNetdev("s0", Inet("127.0.0.1", 1), server: true, reconnect: 1), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct));
        Assert.Equal("'reconnect' option is incompatible with socket in server mode", e.Message);
        Assert.Empty(reg.Snapshot());
    }

    [Fact]
    public async Task Unix_server_reports_the_local_path_and_unlinks_it_on_delete()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var path = Path.Combine(TempDir(), "s.sock");
        File.WriteAllText(path, "stale");
        var client = await reg.AddAsync(StreamNetdev("u0", Unix(path), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        var nic = new FrameCapture("nic0");
        reg.AttachNic("u0", nic.Nic);
        await Eventually.WaitUntilAsync(() => client.Info == "listening", "listening");
        using var peer = await FramedTestSocket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var connected = await events.WaitAsync("NETDEV_STREAM_CONNECTED");
        Assert.Equal($"{{\"netdev-id\": \"u0\", \"addr\": {{\"type\": \"unix\", \"path\": \"{path}\"}}}}", Json(connected));
        Assert.Equal($"unix:{path}", client.Info);
        var f = Frame(65535, 3);
        peer.Send(f);
        Assert.Equal(f, nic.Next());
        nic.Nic.Transmit(f);
        Assert.Equal(f, peer.Receive());

        await reg.DeleteAsync("u0", Ct);
        Assert.False(File.Exists(path));
        Assert.True(peer.WaitClosed());
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(false, false)]
    public async Task Abstract_unix_server_reports_abstract_and_tight(bool? tight, bool reportedTight)
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var name = $"netdevd-test-{Guid.NewGuid():N}";
        var client = await reg.AddAsync(StreamNetdev("a0", Unix(name, isAbstract: true, tight: tight), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info == "listening", "listening");
        var ep = tight == false ? new UnixDomainSocketEndPoint(("\0" + name).PadRight(108, '\0')) : new UnixDomainSocketEndPoint("\0" + name);
        using var peer = await FramedTestSocket.ConnectAsync(ep);
        var connected = await events.WaitAsync("NETDEV_STREAM_CONNECTED");
        var t = reportedTight ? "true" : "false";
        Assert.Equal($"{{\"netdev-id\": \"a0\", \"addr\": {{\"type\": \"unix\", \"path\": \"{name}\", \"abstract\": true, \"tight\": {t}}}}}", Json(connected));
        Assert.Equal($"unix:{name}", client.Info);
    }

    [Fact]
    public async Task Oversize_length_closes_the_connection_with_a_log_line_and_the_server_listens_again()
    {
        var events = new RecordingEvents();
        var logs = new CapturingLoggers();
        await using var reg = NewRegistry(events, logs);
        var port = FreePort();
        var client = await reg.AddAsync(StreamNetdev("s0", Inet("127.0.0.1", port), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        var nic = new FrameCapture("nic0");
        reg.AttachNic("s0", nic.Nic);
        await Eventually.WaitUntilAsync(() => client.Info == "listening", "listening");
        using (var bad = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)))
        {
            await events.WaitAsync("NETDEV_STREAM_CONNECTED");
            bad.Send(Frame(60, 0));
            bad.SendRaw([0x00, 0x01, 0x10, 0x01]); // 69633
            Assert.True(bad.WaitClosed());
        }

        await events.WaitAsync("NETDEV_STREAM_DISCONNECTED");
        Assert.Contains("serious error: oversized packet received,connection terminated.", logs.Lines);
        Assert.Equal(60, nic.Next().Length);
        await Eventually.WaitUntilAsync(() => client.Info == "listening", "listening again");

        using var good = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await events.WaitAsync("NETDEV_STREAM_CONNECTED", nth: 2);
        good.SendRaw([0, 0, 0, 0]);
        var f = Frame(NetdevdMax, 5);
        good.Send(f);
        Assert.Equal(f, nic.Next());
        Assert.Equal(1, ((FramedSocketClient)client).ZeroLengthFrames);
    }

    [Fact]
    public async Task A_peer_stalled_mid_header_blocks_nothing_else_and_delete_is_prompt()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var p1 = FreePort();
        var p2 = FreePort();
        var c1 = await reg.AddAsync(StreamNetdev("s1", Inet("127.0.0.1", p1), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        var c2 = await reg.AddAsync(StreamNetdev("s2", Inet("127.0.0.1", p2), server: true), Core.Registry.NetdevOrigin.Monitor, cancellationToken: Ct);
        var nic1 = new FrameCapture("n1");
        var nic2 = new FrameCapture("n2");
        reg.AttachNic("s1", nic1.Nic);
        reg.AttachNic("s2", nic2.Nic);
        await Eventually.WaitUntilAsync(() => c1.Info == "listening" && c2.Info == "listening", "listening");
        using var stalled = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, p1));
        using var fine = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, p2));
        await events.WaitAsync("NETDEV_STREAM_CONNECTED", nth: 2);
        stalled.SendRaw([0x00, 0x00]);
        for (var i = 0; i < 100; i++)
        {
            fine.Send(Frame(200, i));
        }

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(i, Seq(nic2.Next()));
        }

        var sw = System.Diagnostics.Stopwatch.StartNew();
        await reg.DeleteAsync("s1", Ct);
        Assert.True(sw.ElapsedMilliseconds < 2000, $"delete took {sw.ElapsedMilliseconds} ms");
        Assert.True(stalled.WaitClosed());
        Assert.Equal(0, nic1.Count);
    }

    private const int NetdevdMax = Core.Clients.NetClient.MaxFrameSize;
}
