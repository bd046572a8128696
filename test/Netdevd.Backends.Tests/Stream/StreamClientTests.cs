using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Netdevd.Core.Clients;
using Netdevd.Core.Registry;
using Netdevd.Tests.Shared;
using static Netdevd.Backends.Tests.Stream.StreamTestKit;

namespace Netdevd.Backends.Tests.Stream;

public sealed class StreamClientTests
{
    [Fact]
    public async Task Client_connects_sets_nodelay_reports_remote_and_reconnects_after_the_server_drops_it()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        using var listener = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var client = await reg.AddAsync(StreamNetdev("c0", Inet("127.0.0.1", port), server: false, reconnect: 1), NetdevOrigin.Monitor, cancellationToken: Ct);
        var nic = new FrameCapture("nic0");
        reg.AttachNic("c0", nic.Nic);
        using (var accepted = new FramedTestSocket(await listener.AcceptAsync(Ct)))
        {
            var connected = await events.WaitAsync("NETDEV_STREAM_CONNECTED");
            Assert.Equal($"{{\"netdev-id\": \"c0\", \"addr\": {{\"type\": \"inet\", \"host\": \"127.0.0.1\", \"port\": \"{port}\", \"ipv4\": true}}}}", Json(connected));
            Assert.Equal($"tcp:127.0.0.1:{port}", client.Info);
            Assert.False(client.LinkDown);
            var f = Frame(1514, 1);
            accepted.Send(f);
            Assert.Equal(f, nic.Next());
            nic.Nic.Transmit(f);
            Assert.Equal(f, accepted.Receive());
        }

        await events.WaitAsync("NETDEV_STREAM_DISCONNECTED");
        Assert.True(client.LinkDown);
        Assert.Equal("connecting", client.Info);
        using var again = new FramedTestSocket(await listener.AcceptAsync(Ct));
        await events.WaitAsync("NETDEV_STREAM_CONNECTED", nth: 2);
        Assert.Equal(["NETDEV_STREAM_CONNECTED", "NETDEV_STREAM_DISCONNECTED", "NETDEV_STREAM_CONNECTED"], events.Names());
        var g = Frame(60, 2);
        again.Send(g);
        Assert.Equal(g, nic.Next());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_deleted_while_the_servers_backlog_is_full_never_connects_later()
    {
        // A blocking unix connect waits while the listener's backlog is full, deaf to closing its
        // socket: a netdev deleted meanwhile left that thread waiting, and once the server made
        // room it was handed a connection from a netdev that no longer exists.
        await using var reg = NewRegistry(new RecordingEvents());
        using var full = new FullBacklogListener(Path.Combine(TempDir(), "server.sock"));
        var client = await reg.AddAsync(StreamNetdev("c0", Unix(full.Path), server: false), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Task.Delay(300, Ct);
        Assert.Equal("connecting", client.Info);
        await reg.DeleteAsync("c0", Ct);

        // Room in the backlog: only the fillers' connections are there to take.
        for (var i = 0; i < full.Queued; i++)
        {
            (await full.Listener.AcceptAsync(Ct)).Dispose();
        }

        using var late = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(late.Token, Ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => (await full.Listener.AcceptAsync(linked.Token)).Dispose());
    }

    [Fact]
    public async Task Refused_connect_is_an_info_error_and_without_reconnect_stays_so()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var port = FreePort();
        var client = await reg.AddAsync(StreamNetdev("c0", Inet("127.0.0.1", port), server: false), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info.StartsWith("error", StringComparison.Ordinal), "error info");
        Assert.Equal($"error: Failed to connect to '127.0.0.1:{port}': Connection refused", client.Info);
        Assert.True(client.LinkDown);
        Assert.Empty(events.Snapshot());
    }

    /// <summary>An empty unix path: QEMU's connect finds no such file. .NET refused to make the end point, and the netdev said "connecting" for ever.</summary>
    [Fact]
    public async Task A_connect_to_an_empty_unix_path_is_an_info_error_as_in_QEMU()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var client = await reg.AddAsync(StreamNetdev("c0", Unix(""), server: false), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info.StartsWith("error", StringComparison.Ordinal), "error info");
        Assert.Equal("error: Failed to connect to '': No such file or directory", client.Info);
    }

    [Fact]
    public async Task Refused_connect_with_reconnect_retries_until_a_server_appears()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var path = Path.Combine(TempDir(), "late.sock");
        var client = await reg.AddAsync(StreamNetdev("c0", Unix(path), server: false, reconnect: 1), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => client.Info == "connecting" && !events.Snapshot().Any(), "first failure re-armed", 5000);
        await Task.Delay(1200, Ct);
        using var listener = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        using var accepted = await listener.AcceptAsync(Ct);
        var connected = await events.WaitAsync("NETDEV_STREAM_CONNECTED");
        Assert.Equal($"{{\"netdev-id\": \"c0\", \"addr\": {{\"type\": \"unix\", \"path\": \"{path}\"}}}}", Json(connected));
        Assert.Equal($"unix:{path}", client.Info);
    }

    /// <summary>
    /// reconnect is up to 2^32-1 seconds, longer than a timer waits (49.7 days): arming the
    /// timer threw, the netdev counted a fault and never tried again. It waits the whole
    /// period now, in pieces: not a moment less, and then it connects.
    /// </summary>
    [Fact]
    public async Task The_longest_reconnect_waits_its_whole_length_then_connects()
    {
        var events = new RecordingEvents();
        var time = new TimerCountingClock();
        await using var reg = NewRegistry(events, time: time);
        var path = Path.Combine(TempDir(), "late.sock");
        var client = await reg.AddAsync(StreamNetdev("c0", Unix(path), server: false, reconnect: uint.MaxValue), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => time.TimersMade == 1, "the first connect refused and the reconnect armed", 5000);

        using var listener = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var accept = listener.AcceptAsync(Ct).AsTask();

        // Past the first timer's reach (the netdev arms the next piece on its own thread), then
        // to a second before the period ends: no attempt yet.
        var period = TimeSpan.FromSeconds(uint.MaxValue);
        time.Advance(TimeSpan.FromDays(60));
        await Task.Delay(300, Ct);
        time.Advance(period - TimeSpan.FromDays(60) - TimeSpan.FromSeconds(1));
        await Task.Delay(300, Ct);
        Assert.False(accept.IsCompleted, "connected before the reconnect period was over");
        Assert.Equal(0, client.Stats.Faults);
        Assert.Equal("connecting", client.Info);

        time.Advance(TimeSpan.FromSeconds(1));
        using var accepted = await accept.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await events.WaitAsync("NETDEV_STREAM_CONNECTED");
        Assert.Equal($"unix:{path}", client.Info);
        Assert.Equal(0, client.Stats.Faults);
    }

    [Fact]
    public async Task Fd_by_number_and_by_getfd_name_are_taken_as_connected()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var (mine1, theirs1) = Pair();
        var (mine2, theirs2) = Pair();
        using var t1 = new FramedTestSocket(theirs1);
        using var t2 = new FramedTestSocket(theirs2);
        var fd1 = Detach(mine1);
        var fd2 = Detach(mine2);
        var byNumber = await reg.AddAsync(StreamNetdev("f1", Fd(fd1.ToString(System.Globalization.CultureInfo.InvariantCulture)), server: false), NetdevOrigin.CommandLineModern, cancellationToken: Ct);
        var store = new NamedFds(new Dictionary<string, int> { ["myfd"] = fd2 });
        var byName = await reg.AddAsync(StreamNetdev("f2", Fd("myfd"), server: false), NetdevOrigin.Monitor, store, Ct);
        var n1 = new FrameCapture("n1");
        var n2 = new FrameCapture("n2");
        reg.AttachNic("f1", n1.Nic);
        reg.AttachNic("f2", n2.Nic);
        await events.WaitAsync("NETDEV_STREAM_CONNECTED", nth: 2);
        Assert.StartsWith("tcp:127.0.0.1:", byNumber.Info, StringComparison.Ordinal);
        Assert.StartsWith("tcp:127.0.0.1:", byName.Info, StringComparison.Ordinal);
        var f = Frame(9014, 1);
        t1.Send(f);
        t2.Send(f);
        Assert.Equal(f, n1.Next());
        Assert.Equal(f, n2.Next());
    }

    [Fact]
    public async Task Bad_descriptors_are_info_errors()
    {
        await using var reg = NewRegistry(new RecordingEvents());
        var notSocket = File.OpenHandle("/proc/self/stat");
        var fd = (int)notSocket.DangerousGetHandle();
        notSocket.SetHandleAsInvalid();
        var a = await reg.AddAsync(StreamNetdev("f1", Fd(fd.ToString(System.Globalization.CultureInfo.InvariantCulture)), server: false), NetdevOrigin.Monitor, cancellationToken: Ct);
        var b = await reg.AddAsync(StreamNetdev("f2", Fd("nosuch"), server: false), NetdevOrigin.Monitor, new NamedFds([]), Ct);
        var c = await reg.AddAsync(StreamNetdev("f3", Fd("x1"), server: false), NetdevOrigin.CommandLineModern, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => a.Info.StartsWith("error", StringComparison.Ordinal) && b.Info.StartsWith("error", StringComparison.Ordinal) && c.Info.StartsWith("error", StringComparison.Ordinal), "errors");
        Assert.Equal($"error: File descriptor '{fd}' is not a socket", a.Info);
        Assert.Equal("error: File descriptor named 'nosuch' has not been found", b.Info);
        Assert.Equal("error: Unable to parse FD number x1: Invalid argument", c.Info);
    }

    [Fact]
    public async Task Back_pressure_stops_reading_and_loses_nothing()
    {
        var events = new RecordingEvents();
        await using var reg = NewRegistry(events);
        var port = FreePort();
        var client = await reg.AddAsync(StreamNetdev("s0", Inet("127.0.0.1", port), server: true), NetdevOrigin.Monitor, cancellationToken: Ct);
        var gate = new GatedClient("slow");
        NetClient.Connect(client, gate);
        await Eventually.WaitUntilAsync(() => client.Info == "listening", "listening");
        using var peer = await FramedTestSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await events.WaitAsync("NETDEV_STREAM_CONNECTED");
        const int Total = 20_000;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < Total; i++)
            {
                peer.Send(Frame(64, i));
            }
        });
        await Eventually.WaitUntilAsync(() => gate.Queued >= 1, "first frame queued");
        await Task.Delay(300, Ct);

        // Reading stopped after the first queued frame: the rest waits in the buffer and the socket.
        Assert.True(gate.Queued < 100, $"queued {gate.Queued}");
        gate.Open();
        await writer.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        await Eventually.WaitUntilAsync(() => gate.Count == Total, $"all {Total} frames (got {gate.Count})");
        Assert.Equal(0, gate.OutOfOrder);
        Assert.Equal(0, gate.Stats.Dropped);
    }

    [Fact]
    public async Task Two_registries_talk_through_stream_both_ways()
    {
        var ea = new RecordingEvents();
        var eb = new RecordingEvents();
        await using var a = NewRegistry(ea);
        await using var b = NewRegistry(eb);
        var port = FreePort();
        var server = await a.AddAsync(StreamNetdev("srv", Inet("127.0.0.1", port), server: true), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Eventually.WaitUntilAsync(() => server.Info == "listening", "listening");
        await b.AddAsync(StreamNetdev("cli", Inet("127.0.0.1", port), server: false), NetdevOrigin.Monitor, cancellationToken: Ct);
        var na = new FrameCapture("na");
        var nb = new FrameCapture("nb");
        a.AttachNic("srv", na.Nic);
        b.AttachNic("cli", nb.Nic);
        await ea.WaitAsync("NETDEV_STREAM_CONNECTED");
        await eb.WaitAsync("NETDEV_STREAM_CONNECTED");
        for (var i = 0; i < 1000; i++)
        {
            var f = Frame(60 + (i % 1500), i);
            Assert.NotEqual(DeliveryResult.Dropped, na.Nic.Transmit(f));
            Assert.NotEqual(DeliveryResult.Dropped, nb.Nic.Transmit(f));
        }

        await Eventually.WaitUntilAsync(() => na.Count == 1000 && nb.Count == 1000, "1000 frames each way");
        Assert.Equal(0, na.OutOfOrder);
        Assert.Equal(0, nb.OutOfOrder);
    }

    private static (System.Net.Sockets.Socket Mine, System.Net.Sockets.Socket Theirs) Pair()
    {
        using var l = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l.Listen();
        var mine = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        mine.Connect(l.LocalEndPoint!);
        return (mine, l.Accept());
    }

    /// <summary>Hands the descriptor over: the netdev owns and closes it from now on.</summary>
    private static int Detach(System.Net.Sockets.Socket s)
    {
        var fd = (int)s.SafeHandle.DangerousGetHandle();
        s.SafeHandle.SetHandleAsInvalid();
        return fd;
    }
}

internal sealed class NamedFds(Dictionary<string, int> fds) : Netdevd.Qapi.Commands.IMonitorFdStore
{
    public bool TryTake(string name, out int fd) => fds.Remove(name, out fd);
}

/// <summary>A fake clock that counts the timers made on it: the reconnect timer's arming is the sign the first connect failed.</summary>
internal sealed class TimerCountingClock : FakeTimeProvider
{
    private int _timersMade;

    public int TimersMade => Volatile.Read(ref _timersMade);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _timersMade);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
