using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Chardevs;
using Netdevd.Backends.Tests.Stream;
using Netdevd.Backends.VhostUser.Frontend;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Events;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using R = Netdevd.Backends.VhostUser.Protocol.VhostUserRequest;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>
/// The vhost-user front-end (the vhost-user netdev) against a scripted back-end: the set-up
/// messages in QEMU's order, frames both ways through the rings, a chardev that cannot be
/// removed while in use, GET_VRING_BASE on teardown, the link through a back-end restart, and
/// a back-end it cannot drive.
/// </summary>
public sealed class VhostUserFrontendTests
{
    private static readonly ulong s_features =
        VirtioFeatures.Bit(VirtioFeatures.Version1) | VirtioFeatures.Bit(VirtioFeatures.RingEventIdx)
        | VirtioFeatures.Bit(VirtioFeatures.VhostUserProtocolFeatures) | VirtioFeatures.Bit(VirtioFeatures.NetMrgRxbuf)
        | VirtioFeatures.Bit(VirtioFeatures.NetCtrlVq);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sets_up_the_rings_moves_frames_both_ways_and_stops_the_rings_on_delete()
    {
        await using var rig = await FrontendRig.StartAsync(s_features);
        var (registry, backend, client) = (rig.Registry, rig.Backend, rig.Client);

        R[] perRing = [R.SetVringNum, R.SetVringBase, R.SetVringAddr, R.SetVringCall, R.SetVringKick];
        R[] expected =
        [
            R.GetFeatures, R.GetProtocolFeatures, R.SetProtocolFeatures, R.SetOwner, R.SetFeatures, R.SetMemTable,
            .. perRing, .. perRing, R.SetVringEnable, R.SetVringEnable,
        ];
        Assert.Equal(expected, backend.Requests.Take(expected.Length));

        // Only what both sides have: no control queue, which the back-end offered.
        Assert.Equal(s_features & ~VirtioFeatures.Bit(VirtioFeatures.NetCtrlVq), backend.AckedFeatures);
        Assert.False(client.LinkDown);
        Assert.Equal("vhost-user0 to c0", client.Info);
        Assert.Equal("Chardev 'c0' is busy", (await Assert.ThrowsAsync<QapiException>(() => registry.Chardevs.RemoveAsync("c0", Ct))).Message);

        var nic = new FrameCapture("nic");
        registry.AttachNic("v0", nic.Nic);

        // Driver to device: the frame follows a zeroed 12-byte virtio-net header in one buffer.
        var frame = TestFrame(100, 0x5a);
        nic.Nic.Transmit(frame);
        var tx = backend.Ring(1);
        var head = TakeWithin(tx);
        var chain = tx.Walk(head);
        Assert.True(chain.TryNext(out var buffer, out _));
        Assert.False(buffer.Writable);
        Assert.Equal([.. new byte[12], .. frame], buffer.Span.ToArray());

        // Device to driver: fill a posted receive buffer, return it, signal.
        var rx = backend.Ring(0);
        var rxHead = TakeWithin(rx);
        var rxChain = rx.Walk(rxHead);
        Assert.True(rxChain.TryNext(out var rxBuffer, out _));
        Assert.True(rxBuffer.Writable);
        var reply = TestFrame(80, 0xa5);
        rxBuffer.Span[..12].Clear();
        rxBuffer.Span[10] = 1; // num_buffers
        reply.CopyTo(rxBuffer.Span[12..]);
        rx.AddUsed(rxHead, (uint)(12 + reply.Length));
        rx.PublishUsed();
        backend.Signal(0);
        Assert.Equal(reply, nic.Next());

        await registry.DeleteAsync("v0", Ct);
        Assert.True(backend.WaitDone(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, backend.Requests.Count(r => r == R.GetVringBase));
        await registry.Chardevs.RemoveAsync("c0", Ct);
    }

    [Fact]
    public async Task A_frame_from_a_peer_that_reads_in_place_is_read_straight_into_a_transmit_slot()
    {
        var offloads = VirtioFeatures.Bit(VirtioFeatures.NetCsum) | VirtioFeatures.Bit(VirtioFeatures.NetGuestCsum)
            | VirtioFeatures.Bit(VirtioFeatures.NetHostTso4) | VirtioFeatures.Bit(VirtioFeatures.NetHostTso6)
            | VirtioFeatures.Bit(VirtioFeatures.NetGuestTso4) | VirtioFeatures.Bit(VirtioFeatures.NetGuestTso6);
        await using var rig = await FrontendRig.StartAsync(s_features | offloads);
        var (backend, client) = (rig.Backend, rig.Client);
        var tap = new FrameRecorder(vnetHeader: true);
        NetClient.Connect(client, tap);
        Assert.True(client.UsingVnetHeader);

        // As a tap reads it: the header (num_buffers left as the buffer had it), then the frame.
        var frame = TestFrame(1500, 0x3c);
        byte[] read = [1, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0xee, 0xee, .. frame];
        Assert.True(tap.InjectInPlace(read), "the front-end did not lend a transmit slot");

        var tx = backend.Ring(1);
        var chain = tx.Walk(TakeWithin(tx));
        Assert.True(chain.TryNext(out var buffer, out _));
        Assert.Equal([1, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0, 0, .. frame], buffer.Span.ToArray());
        Assert.Equal(1, client.Stats.ReceivedInPlace);
        tap.Disconnect();
    }

    [Fact]
    public async Task A_tcp_segment_the_back_end_marks_data_valid_with_an_empty_checksum_reaches_a_peer_without_headers_with_its_checksum_filled()
    {
        await using var rig = await FrontendRig.StartAsync(s_features); // no offloads, as passt offers
        var (registry, backend, client) = (rig.Registry, rig.Backend, rig.Client);
        var nic = new FrameCapture("nic");
        registry.AttachNic("v0", nic.Nic);
        Assert.False(client.UsingVnetHeader);

        // As passt's vhost-user back-end sends TCP: DATA_VALID in the header, the checksum left 0.
        var frame = new byte[14 + 20 + 20 + 40];
        frame[12] = 0x08;
        var ip = frame.AsSpan(14);
        ip[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 80);
        ip[8] = 64;
        ip[9] = 6;
        ip[12] = 10;
        ip[15] = 2;
        ip[16] = 10;
        ip[19] = 15;
        var tcp = ip[20..];
        tcp[12] = 0x50;
        tcp[13] = 0x18;
        for (var i = 20; i < tcp.Length; i++)
        {
            tcp[i] = (byte)(i * 11);
        }

        var rx = backend.Ring(0);
        var rxHead = TakeWithin(rx);
        var rxChain = rx.Walk(rxHead);
        Assert.True(rxChain.TryNext(out var rxBuffer, out _));
        rxBuffer.Span[..12].Clear();
        rxBuffer.Span[0] = Wire.VirtioNetHeader.FlagDataValid;
        rxBuffer.Span[10] = 1; // num_buffers
        frame.CopyTo(rxBuffer.Span[12..]);
        rx.AddUsed(rxHead, (uint)(12 + frame.Length));
        rx.PublishUsed();
        backend.Signal(0);

        var received = nic.Next();
        Assert.Equal(frame.Length, received.Length);
        Assert.True(Wire.Ipv4Packet.TryCreate(received.AsSpan(14), out var got));
        Assert.True(Wire.TcpPacket.TryCreate(got.Payload, out var segment));
        Assert.NotEqual(0, segment.Checksum);
        Assert.True(segment.VerifyChecksum(got.Source, got.Destination), "the peer got a TCP checksum that does not verify");
        Assert.Equal(frame[(14 + 20 + 18)..], received[(14 + 20 + 18)..]);
        await registry.DeleteAsync("v0", Ct);
    }

    [Fact]
    public async Task A_burst_of_frames_kicks_the_back_end_once_until_it_asks_again()
    {
        await using var rig = await FrontendRig.StartAsync(s_features);
        var (registry, backend) = (rig.Registry, rig.Backend);
        var nic = new FrameCapture("nic");
        registry.AttachNic("v0", nic.Nic);
        backend.TakeKicks(1);

        // EVENT_IDX: the device has not asked for a kick past the first entry (avail_event 0), so
        // 32 frames, each published on its own, notify it once.
        for (var i = 0; i < 32; i++)
        {
            nic.Nic.Transmit(TestFrame(100, (byte)i));
        }

        Assert.Equal(1, backend.TakeKicks(1));

        // The device drains and asks for the next entry (avail_event = where it stopped): one kick more.
        var tx = backend.Ring(1);
        for (var i = 0; i < 32; i++)
        {
            TakeWithin(tx);
        }

        Assert.False(tx.SetKickWanted(true));
        for (var i = 0; i < 32; i++)
        {
            nic.Nic.Transmit(TestFrame(100, (byte)i));
        }

        Assert.Equal(1, backend.TakeKicks(1));
    }

    [Fact]
    public async Task The_link_goes_down_when_the_back_end_leaves_and_up_when_one_comes_back()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        var path = Path.Combine(dir, "fe.sock");
        await using var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        var first = new ScriptedBackend(path, s_features);
        first.Start();
        var client = (VhostUserNetClient)await registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct);
        Assert.True(first.WaitReady(TimeSpan.FromSeconds(30)));
        Assert.False(client.LinkDown);

        first.HangUp();
        first.Dispose();
        // The link and the chardev's state are updated one after the other on the I/O thread.
        await Eventually.WaitUntilAsync(() => client.LinkDown && registry.Chardevs.Find("c0")!.Filename.StartsWith("disconnected:", StringComparison.Ordinal), "the link down and the chardev disconnected", 30_000);
        Assert.Equal($"disconnected:unix:{path},server=on", registry.Chardevs.Find("c0")!.Filename);

        using var second = new ScriptedBackend(path, s_features);
        second.Start();
        Assert.True(second.WaitReady(TimeSpan.FromSeconds(30)));
        await Eventually.WaitUntilAsync(() => !client.LinkDown, "the link up", 30_000);
        Assert.Equal(R.GetFeatures, second.Requests[0]);
    }

    /// <summary>
    /// Back-ends that connect and hang up before the set-up: the first failure is a warning, the
    /// next ones are not (a reconnecting or broken back-end wrote a line per attempt for ever), and
    /// the back-end that finally works is reported with how many failed before it.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Failed_set_ups_are_reported_once_and_counted_when_a_back_end_connects()
    {
        var path = Path.Combine(TestDirectories.Create("nd-vfe-"), "fe.sock");
        var log = new CapturingLoggers();
        await using var registry = NewRegistry(log);
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        var first = new ScriptedBackend(path, s_features);
        first.Start();
        var client = (VhostUserNetClient)await registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct);
        Assert.True(first.WaitReady(TimeSpan.FromSeconds(30)));
        first.HangUp();
        first.Dispose();
        await Eventually.WaitUntilAsync(() => client.LinkDown, "the link down", 30_000);

        // Five that hang up at once, one after the other (the chardev's backlog is QEMU's one).
        (LogLevel Level, string Line)[] SetUpFailures() => [.. log.Entries.Where(e => e.Line.Contains("back-end set-up failed", StringComparison.Ordinal))];
        for (var i = 1; i <= 5; i++)
        {
            using (var quitter = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
            {
                await quitter.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), Ct);
            }

            var expected = i;
            await Eventually.WaitUntilAsync(() => SetUpFailures().Length == expected, $"{expected} set-up failure(s) logged", 30_000);
        }

        using var second = new ScriptedBackend(path, s_features);
        second.Start();
        Assert.True(second.WaitReady(TimeSpan.FromSeconds(30)));
        await Eventually.WaitUntilAsync(() => !client.LinkDown, "the link up", 30_000);

        var failures = SetUpFailures();
        Assert.Equal(5, failures.Length);
        Assert.Equal(LogLevel.Warning, failures[0].Level);
        Assert.All(failures[1..], e => Assert.Equal(LogLevel.Debug, e.Level));
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Information && e.Line.StartsWith("vhost-user v0: back-end connected after 5 failed set-up(s)", StringComparison.Ordinal));
    }

    /// <summary>
    /// A back-end that returns a receive buffer it never got: the connection is cut (before, the
    /// drain threw, counted as a fault, and the session went on with a ring it could not trust),
    /// and the next back-end gets fresh rings that carry frames again.
    /// </summary>
    [Fact]
    public async Task A_back_end_that_returns_a_receive_buffer_it_never_got_is_disconnected_and_the_next_one_gets_fresh_rings()
    {
        var path = Path.Combine(TestDirectories.Create("nd-vfe-"), "fe.sock");
        await using var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        using var first = new ScriptedBackend(path, s_features);
        first.Start();
        var client = (VhostUserNetClient)await registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct);
        Assert.True(first.WaitReady(TimeSpan.FromSeconds(30)));
        var nic = new FrameCapture("nic");
        registry.AttachNic("v0", nic.Nic);

        var frame = TestFrame(90, 0x33);
        var rx = first.Ring(0);
        var head = FillReceiveBuffer(rx, frame);
        rx.AddUsed(head, (uint)(12 + frame.Length));
        rx.AddUsed(head with { Id = 1000 }, (uint)(12 + frame.Length));
        rx.PublishUsed();
        first.Signal(0);

        Assert.Equal(frame, nic.Next());
        Assert.True(first.WaitDone(TimeSpan.FromSeconds(30)), "the front-end kept the connection");
        await Eventually.WaitUntilAsync(() => client.LinkDown, "the link down", 30_000);
        Assert.Equal(1, client.RefusedConnections);
        Assert.Equal(0, client.Stats.Faults);

        using var second = new ScriptedBackend(path, s_features);
        second.Start();
        Assert.True(second.WaitReady(TimeSpan.FromSeconds(30)));
        await Eventually.WaitUntilAsync(() => !client.LinkDown, "the link up", 30_000);
        var again = TestFrame(70, 0x44);
        var rx2 = second.Ring(0);
        rx2.AddUsed(FillReceiveBuffer(rx2, again), (uint)(12 + again.Length));
        rx2.PublishUsed();
        second.Signal(0);
        Assert.Equal(again, nic.Next());
    }

    /// <summary>
    /// A back-end that returns a transmit slot twice: the front-end's free list took it twice
    /// before, so two frames could share one slot; now the connection is cut, and the sender whose
    /// frame found it out sees no exception (its frame goes nowhere, as on a link that is down).
    /// </summary>
    [Fact]
    public async Task A_back_end_that_returns_a_transmit_slot_twice_is_disconnected_without_a_fault_on_the_senders_side()
    {
        await using var rig = await FrontendRig.StartAsync(s_features);
        var (registry, backend, client) = (rig.Registry, rig.Backend, rig.Client);
        var nic = new FrameCapture("nic");
        registry.AttachNic("v0", nic.Nic);

        nic.Nic.Transmit(TestFrame(100, 0x5a));
        var tx = backend.Ring(1);
        var head = TakeWithin(tx);
        tx.AddUsed(head, 0);
        tx.AddUsed(head, 0);
        tx.PublishUsed();

        nic.Nic.Transmit(TestFrame(100, 0x5b));
        Assert.True(backend.WaitDone(TimeSpan.FromSeconds(30)), "the front-end kept the connection");
        await Eventually.WaitUntilAsync(() => client.LinkDown, "the link down", 30_000);
        Assert.Equal(1, client.RefusedConnections);
        Assert.Equal(0, client.Stats.Faults);
        Assert.Equal(0, nic.Nic.Stats.Faults);
    }

    [Fact]
    public async Task A_back_end_that_stalls_the_set_up_cannot_hold_up_delete()
    {
        // After a back-end restart the next one connects and never answers GET_FEATURES: the
        // netdev's thread waits in the set-up, and netdev_del (holding the registry) must not
        // wait with it for ever.
        var dir = TestDirectories.Create("nd-vfe-");
        var path = Path.Combine(dir, "fe.sock");
        await using var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        using (var first = new ScriptedBackend(path, s_features))
        {
            first.Start();
            var client = (VhostUserNetClient)await registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct);
            Assert.True(first.WaitReady(TimeSpan.FromSeconds(30)));
            first.HangUp();
            await Eventually.WaitUntilAsync(() => client.LinkDown, "the link down", 30_000);
        }

        using var stalling = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        await stalling.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), Ct);
        var request = new byte[12];
        stalling.ReceiveTimeout = 30_000;
        Assert.Equal(12, stalling.Receive(request)); // GET_FEATURES, left unanswered

        var delete = registry.DeleteAsync("v0", Ct);
        var finished = await Task.WhenAny(delete, Task.Delay(TimeSpan.FromSeconds(15), Ct)) == delete;
        stalling.Dispose();
        await delete;
        Assert.True(finished, "netdev_del waited for a back-end that never answers");
    }

    [Fact]
    public async Task A_back_end_without_virtio_1_is_refused_and_the_chardev_is_free_again()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        var path = Path.Combine(dir, "fe.sock");
        await using var registry = NewRegistry();
        // A client chardev connects at creation: listen first, as a back-end in server mode would.
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path + "2"));
        listener.Listen(1);
        await registry.Chardevs.AddFromMonitorAsync("c1", Client(path + "2"), Ct);
        using var accepted = await listener.AcceptAsync(Ct);
        var serve = Task.Run(
            () =>
            {
                var channel = new VhostUserChannel(accepted);
                var buffer = new byte[VhostUserChannel.BufferSize];
                var fds = new List<Microsoft.Win32.SafeHandles.SafeFileHandle>();
                if (channel.Receive(buffer, fds, out _) == VhostUserReceiveStatus.Message)
                {
                    Span<byte> legacy = stackalloc byte[8];
                    VhostUserU64.Write(legacy, VirtioFeatures.Bit(VirtioFeatures.NetMrgRxbuf));
                    channel.Reply(R.GetFeatures, legacy);
                }
            },
            Ct);

        var error = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(VhostUser("v1", "c1"), NetdevOrigin.Monitor, cancellationToken: Ct));
        await serve;
        Assert.Equal("Device 'vhost-user' could not be initialized", error.Message);
        Assert.Equal("the back-end does not offer VIRTIO_F_VERSION_1", error.PrecedingReport);
        Assert.Null(registry.Find("v1"));
        Assert.False(registry.Chardevs.Find("c1")!.IsBusy);
    }

    /// <summary>
    /// A vhost-user add waits, as in QEMU, until a back-end connects to its server chardev, here
    /// never: meanwhile another monitor's netdev_add, netdev_del, set_link and NIC attach go
    /// ahead (they waited behind the registry's gate for ever), the pending id is taken but not
    /// listed, and the add completes once a back-end comes.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task A_pending_vhost_user_add_holds_up_no_other_netdev_command()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        var path = Path.Combine(dir, "fe.sock");
        await using var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        await registry.AddAsync(Hubport("h1"), NetdevOrigin.Monitor, cancellationToken: Ct);
        var pending = registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Task.Delay(100, Ct);
        Assert.False(pending.IsCompleted);

        // Run where a wait on the gate cannot block the test itself (set_link and attach wait synchronously).
        await WithinAsync(() => registry.AddAsync(Hubport("h2"), NetdevOrigin.Monitor, cancellationToken: Ct), "netdev_add of another id");
        await WithinAsync(() => registry.DeleteAsync("h1", Ct), "netdev_del of another netdev");
        await WithinAsync(() => Task.Run(() => registry.SetLink("h2", false), Ct), "set_link");
        await WithinAsync(() => Task.Run(() => registry.AttachNic("h2", new FrameCapture("nic").Nic), Ct), "NIC attach");

        // Taken, yet not there: not listed, not found by netdev_del, set_link or a hubport.
        var duplicate = await WithinAsync(() => Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(Hubport("v0"), NetdevOrigin.Monitor, cancellationToken: Ct)), "netdev_add of the pending id");
        Assert.Equal("Duplicate ID 'v0'", duplicate.Message);
        Assert.Null(registry.Find("v0"));
        Assert.Equal(["h2"], registry.Snapshot().Select(e => e.Id));
        Assert.Equal("Device 'v0' not found", (await Assert.ThrowsAsync<QapiException>(() => registry.DeleteAsync("v0", Ct))).Message);
        Assert.Equal("Device 'v0' not found", Assert.Throws<QapiException>(() => registry.SetLink("v0", false)).Message);
        Assert.Equal("netdev 'v0' not found", (await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(Hubport("h3", "v0"), NetdevOrigin.Monitor, cancellationToken: Ct))).Message);
        Assert.Equal("Chardev 'c0' is busy", (await Assert.ThrowsAsync<QapiException>(() => registry.Chardevs.RemoveAsync("c0", Ct))).Message);
        Assert.False(pending.IsCompleted);

        using var backend = new ScriptedBackend(path, s_features);
        backend.Start();
        var client = await pending.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Same(client, registry.Find("v0")?.Client);
        Assert.Equal(["h2", "v0"], registry.Snapshot().Select(e => e.Id));
        Assert.False(client.LinkDown);
    }

    /// <summary>
    /// Cancelling a pending add (its monitor went away, the server stops) frees its id and its
    /// chardev, and every other command still runs meanwhile.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Cancelling_a_pending_add_frees_the_id_and_the_chardev()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        var path = Path.Combine(dir, "fe.sock");
        await using var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var pending = registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: cancel.Token);
        await Task.Delay(100, Ct);
        Assert.False(pending.IsCompleted);
        Assert.True(registry.Chardevs.Find("c0")!.IsBusy);
        await WithinAsync(() => registry.AddAsync(Hubport("h1"), NetdevOrigin.Monitor, cancellationToken: Ct), "netdev_add of another id");

        await cancel.CancelAsync();
        var error = await Assert.ThrowsAsync<QapiException>(() => pending.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal("Device 'vhost-user' could not be initialized", error.Message);

        // What the log says about it (the report before the error): the netdev and why, not .NET's "A task was canceled.".
        Assert.Equal("vhost-user netdev 'v0' not added: its monitor closed, or netdevd is stopping, before the back-end was set up", error.PrecedingReport);
        Assert.Null(registry.Find("v0"));
        Assert.False(registry.Chardevs.Find("c0")!.IsBusy);

        // The id and the chardev are free again.
        using var backend = new ScriptedBackend(path, s_features);
        backend.Start();
        var client = await registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Same(client, registry.Find("v0")?.Client);
    }

    /// <summary>Disposing the registry (the daemon stops) with a vhost-user add pending ends the add and frees the chardev.</summary>
    [Fact(Timeout = 60_000)]
    public async Task Disposing_the_registry_ends_a_pending_add()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        var path = Path.Combine(dir, "fe.sock");
        var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        var chardev = registry.Chardevs.Find("c0")!;
        var pending = registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct);
        await Task.Delay(100, Ct);
        Assert.False(pending.IsCompleted);

        await WithinAsync(() => registry.DisposeAsync().AsTask(), "disposing the registry");
        var error = await Assert.ThrowsAsync<QapiException>(() => pending.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal("Device 'vhost-user' could not be initialized", error.Message);
        Assert.Equal("vhost-user netdev 'v0' not added: its monitor closed, or netdevd is stopping, before the back-end was set up", error.PrecedingReport);
        Assert.False(chardev.IsBusy);
    }

    /// <summary>
    /// A chardev-add with wait=on waits for its first client (here never) holding the chardevs'
    /// gate: a vhost-user netdev_add looked its chardev up through that gate while holding the
    /// netdevs' gate, so it and every netdev command after it waited too.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task A_chardev_add_waiting_for_its_client_holds_up_no_netdev_command()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        var path = Path.Combine(dir, "fe.sock");
        await using var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var waiting = Server(Path.Combine(dir, "wait.sock"));
        waiting.Socket!.Data.Wait = true;
        var pendingChardev = registry.Chardevs.AddFromMonitorAsync("w", waiting, cancel.Token);
        await Task.Delay(100, Ct);
        Assert.False(pendingChardev.IsCompleted);

        using var backend = new ScriptedBackend(path, s_features);
        backend.Start();
        await WithinAsync(() => registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct), "netdev_add of a vhost-user netdev");
        await WithinAsync(() => registry.AddAsync(Hubport("h1"), NetdevOrigin.Monitor, cancellationToken: Ct), "netdev_add after it");
        Assert.Equal(["c0"], (await WithinAsync(() => Task.Run(() => registry.Chardevs.Snapshot(), Ct), "query-chardev")).Select(c => c.Id));

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => pendingChardev);
    }

    /// <summary>Disposing the registry (the daemon stops) with a chardev-add waiting for its first client ends the add.</summary>
    [Fact(Timeout = 60_000)]
    public async Task Disposing_the_registry_ends_a_chardev_add_waiting_for_its_client()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        var registry = NewRegistry();
        var waiting = Server(Path.Combine(dir, "wait.sock"));
        waiting.Socket!.Data.Wait = true;
        var pendingChardev = registry.Chardevs.AddFromMonitorAsync("w", waiting, Ct);
        await Task.Delay(100, Ct);
        Assert.False(pendingChardev.IsCompleted);

        await WithinAsync(() => registry.DisposeAsync().AsTask(), "disposing the registry");
        await Assert.ThrowsAnyAsync<Exception>(() => pendingChardev);
    }

    /// <summary>
    /// A reconnecting client chardev whose back-end listens without accepting, its backlog full:
    /// the netdev's thread waited in a blocking connect that closing cannot wake, and closing the
    /// netdev (here: cancelling its add) joined that thread for ever.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Cancelling_an_add_on_a_client_chardev_stuck_on_a_full_backlog_completes()
    {
        var dir = TestDirectories.Create("nd-vfe-");
        using var full = new FullBacklogListener(Path.Combine(dir, "be.sock"));
        await using var registry = NewRegistry();
        var reconnecting = Client(full.Path);
        reconnecting.Socket!.Data.ReconnectMs = 100;
        await registry.Chardevs.AddFromMonitorAsync("c1", reconnecting, Ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var pending = registry.AddAsync(VhostUser("v1", "c1"), NetdevOrigin.Monitor, cancellationToken: cancel.Token);
        await Task.Delay(300, Ct);
        Assert.False(pending.IsCompleted);

        await cancel.CancelAsync();
        var finished = await Task.WhenAny(pending, Task.Delay(TimeSpan.FromSeconds(10), Ct)) == pending;
        Assert.True(finished, "closing the netdev waited for its chardev's connect");
        await Assert.ThrowsAsync<QapiException>(() => pending);
        Assert.False(registry.Chardevs.Find("c1")!.IsBusy);
    }

    /// <summary>
    /// A client chardev whose reconnect is longer than .NET's waits take (58 days; QEMU takes any
    /// int64 of seconds): the netdev's thread waited between attempts with a wait that throws
    /// past 24.8 days (after a set-up that failed) or 49.7 days (after a refused connect), and the
    /// exception on that thread ended the process. It waits now, and cancelling the add ends the wait.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_reconnect_of_months_waits_between_attempts_and_the_add_can_still_be_cancelled(bool backendHangsUp)
    {
        var path = Path.Combine(TestDirectories.Create("nd-vfe-"), "be.sock");
        using var listener = backendHangsUp ? new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified) : null;
        var firstAttempt = Task.Delay(300, Ct);
        if (listener is not null)
        {
            // Accepts the front-end and hangs up at once: its set-up fails (GET_FEATURES gets no answer).
            listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            listener.Listen();
            firstAttempt = Task.Run(async () => (await listener.AcceptAsync(Ct)).Dispose(), Ct);
        }

        await using var registry = NewRegistry();
        var reconnecting = Client(path);
        reconnecting.Socket!.Data.Reconnect = 5_000_000;
        await registry.Chardevs.AddFromMonitorAsync("c1", reconnecting, Ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var pending = registry.AddAsync(VhostUser("v1", "c1"), NetdevOrigin.Monitor, cancellationToken: cancel.Token);
        await firstAttempt.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await Task.Delay(300, Ct); // the netdev's thread is in its wait by now
        Assert.False(pending.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAsync<QapiException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.False(registry.Chardevs.Find("c1")!.IsBusy);
    }

    /// <summary>
    /// QEMU adds a client chardev with any reconnect and connects it later. Here its seconds
    /// times 1000 went past int64 and read as no reconnect, so the chardev connected at once,
    /// and with nothing listening chardev-add failed.
    /// </summary>
    [Fact]
    public async Task A_client_chardev_with_the_longest_reconnect_is_added_to_connect_later()
    {
        var path = Path.Combine(TestDirectories.Create("nd-vfe-"), "be.sock");
        await using var registry = NewRegistry();
        var client = Client(path);
        client.Socket!.Data.Reconnect = long.MaxValue;
        await registry.Chardevs.AddFromMonitorAsync("c1", client, Ct);
        Assert.Equal(TimeSpan.MaxValue, registry.Chardevs.Find("c1")!.ReconnectDelay);
    }

    [Theory]
    [InlineData("nosuch", null, "chardev \"nosuch\" not found")]
    [InlineData("tcp", null, "chardev \"tcp\" does not support FD passing")]
    [InlineData("c0", 0L, "vhost-user number of queues must be in range [1, 1024]")]
    [InlineData("c0", 1025L, "vhost-user number of queues must be in range [1, 1024]")]
    public async Task Bad_options_have_QEMUs_texts(string chardev, long? queues, string message)
    {
        var dir = TestDirectories.Create("nd-vfe-");
        await using var registry = NewRegistry();
        await registry.Chardevs.AddFromMonitorAsync("c0", Server(Path.Combine(dir, "fe.sock")), Ct);
        await registry.Chardevs.AddFromMonitorAsync("tcp", TcpServer(), Ct);
        var netdev = VhostUser("v0", chardev);
        netdev.VhostUser!.Queues = queues;

        var error = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(netdev, NetdevOrigin.Monitor, cancellationToken: Ct));
        Assert.Equal(message, error.Message);
        Assert.False(registry.Chardevs.Find("c0")!.IsBusy);
    }

    private static byte[] TestFrame(int length, byte fill)
    {
        var frame = new byte[length];
        frame.AsSpan().Fill(fill);
        frame[0] = 0x02; // unicast, locally administered
        return frame;
    }

    /// <summary>Takes a receive buffer the front-end posted and writes a frame into it (num_buffers 1); returns its head.</summary>
    private static ChainHead FillReceiveBuffer(SplitVirtqueue rx, byte[] frame)
    {
        var head = TakeWithin(rx);
        var chain = rx.Walk(head);
        Assert.True(chain.TryNext(out var buffer, out _));
        buffer.Span[..12].Clear();
        buffer.Span[10] = 1;
        frame.CopyTo(buffer.Span[12..]);
        return head;
    }

    private static ChainHead TakeWithin(SplitVirtqueue ring)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        ChainHead head;
        while (!ring.TryTake(out head, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, "the front-end offered no buffer");
            Thread.Sleep(10);
        }

        return head;
    }

    /// <summary>Runs <paramref name="action"/> and fails if it does not complete within 10 s (it waited for another command).</summary>
    private static async Task WithinAsync(Func<Task> action, string what)
    {
        var task = action();
        Assert.True(await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10), Ct)) == task, what + " waited for the pending command");
        await task;
    }

    private static async Task<T> WithinAsync<T>(Func<Task<T>> action, string what)
    {
        var task = action();
        Assert.True(await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10), Ct)) == task, what + " waited for the pending command");
        return await task;
    }

    private static Netdev Hubport(string id, string? netdev = null) =>
        new() { Id = id, Type = NetClientDriver.Hubport, Hubport = new NetdevHubPortOptions { Hubid = 0, Netdev = netdev } };

    /// <summary>
    /// A registry with a server chardev c0 and a vhost-user netdev v0 on it, set up by a scripted
    /// back-end that offers <c>features</c>; the back-end goes first on disposal, then the registry.
    /// </summary>
    private sealed class FrontendRig : IAsyncDisposable
    {
        private FrontendRig(NetdevRegistry registry, ScriptedBackend backend, VhostUserNetClient client)
        {
            Registry = registry;
            Backend = backend;
            Client = client;
        }

        public NetdevRegistry Registry { get; }

        public ScriptedBackend Backend { get; }

        public VhostUserNetClient Client { get; }

        public static async Task<FrontendRig> StartAsync(ulong features)
        {
            var path = Path.Combine(TestDirectories.Create("nd-vfe-"), "fe.sock");
            var registry = NewRegistry();
            var backend = new ScriptedBackend(path, features);
            var started = false;
            try
            {
                await registry.Chardevs.AddFromMonitorAsync("c0", Server(path), Ct);
                backend.Start();
                started = true;
                var client = (VhostUserNetClient)await registry.AddAsync(VhostUser("v0", "c0"), NetdevOrigin.Monitor, cancellationToken: Ct);
                Assert.True(backend.WaitReady(TimeSpan.FromSeconds(30)));
                return new FrontendRig(registry, backend, client);
            }
            catch
            {
                if (started)
                {
                    backend.Dispose(); // joins its thread: only once started
                }

                await registry.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            Backend.Dispose();
            await Registry.DisposeAsync();
        }
    }

    private static NetdevRegistry NewRegistry(ILoggerFactory? loggers = null) =>
        new([new VhostUserNetdevFactory(), new HubportNetdevFactory()], new NoEvents(), loggers ?? NullLoggerFactory.Instance, chardevs: new SocketChardevFactory());

    private static Netdev VhostUser(string id, string chardev) =>
        new() { Id = id, Type = NetClientDriver.VhostUser, VhostUser = new NetdevVhostUserOptions { Chardev = chardev } };

    private static ChardevBackend Server(string path) => Socket(new SocketAddressLegacy { Type = SocketAddressType.Unix, Unix = new UnixSocketAddressWrapper { Data = new UnixSocketAddress { Path = path } } }, server: true);

    private static ChardevBackend Client(string path) => Socket(new SocketAddressLegacy { Type = SocketAddressType.Unix, Unix = new UnixSocketAddressWrapper { Data = new UnixSocketAddress { Path = path } } }, server: false);

    private static ChardevBackend TcpServer() => Socket(new SocketAddressLegacy { Type = SocketAddressType.Inet, Inet = new InetSocketAddressWrapper { Data = new InetSocketAddress { Host = "127.0.0.1", Port = "0" } } }, server: true);

    private static ChardevBackend Socket(SocketAddressLegacy address, bool server) => new()
    {
        Type = ChardevBackendKind.Socket,
        Socket = new ChardevSocketWrapper { Data = new ChardevSocket { Addr = address, Server = server, Wait = server ? false : null } },
    };

    private sealed class NoEvents : IQapiEventSink
    {
        public void Emit(QapiEvent qapiEvent)
        {
        }
    }
}
