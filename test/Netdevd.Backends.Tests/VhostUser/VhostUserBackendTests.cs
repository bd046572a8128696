using System.Buffers.Binary;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Tests.Shared;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>The back-end against a scripted front-end: every message QEMU sends, frames both ways, refusals, reconnect, teardown.</summary>
public sealed class VhostUserBackendTests
{
    private static readonly ulong Features = VirtioFeatures.Bit(VirtioFeatures.Version1) | VirtioFeatures.Bit(VirtioFeatures.NetMrgRxbuf)
        | VirtioFeatures.Bit(VirtioFeatures.RingEventIdx) | VirtioFeatures.Bit(VirtioFeatures.VhostUserProtocolFeatures);

    [Fact]
    public async Task Features_offered_are_a_virtio_net_device_with_protocol_features()
    {
        var (backend, _, path) = ScriptedFrontEnd.StartBackend(queues: 2);
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        var features = front.RequestU64(VhostUserRequest.GetFeatures);
        foreach (var bit in new[] { VirtioFeatures.Version1, VirtioFeatures.NetMrgRxbuf, VirtioFeatures.RingEventIdx, VirtioFeatures.NetMq, VirtioFeatures.VhostUserProtocolFeatures })
        {
            Assert.True(VirtioFeatures.Has(features, bit), $"bit {bit} missing from 0x{features:x}");
        }

        // Its peer has no virtio-net headers: no offloads are offered.
        Assert.False(VirtioFeatures.Has(features, VirtioFeatures.NetHostTso4));
        Assert.False(VirtioFeatures.Has(features, VirtioFeatures.NetCsum));
        front.Request(VhostUserRequest.SetProtocolFeatures, ScriptedFrontEnd.U64(VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.Mq)));
        Assert.Equal(2UL, front.RequestU64(VhostUserRequest.GetQueueNum));
    }

    [Fact]
    public async Task A_frame_the_guest_transmits_reaches_the_peer_without_its_header()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);

        // Header and frame in two descriptors, as a driver may lay them out.
        var frame = Enumerable.Range(0, 60).Select(i => (byte)i).ToArray();
        front.Memory.At(TestDriverRing.BuffersAt, 12).Clear();
        frame.CopyTo(front.Memory.At(TestDriverRing.BuffersAt + 0x100, 60));
        front.Tx.SetDescriptor(0, TestDriverRing.BuffersAt, 12, SplitRingLayout.DescriptorNext, 1);
        front.Tx.SetDescriptor(1, TestDriverRing.BuffersAt + 0x100, 60, 0, 0);
        front.Tx.Offer(0);
        ScriptedFrontEnd.Kick(front.Kicks[1]);

        Assert.True(peer.Frames.TryTake(out var received, 30_000), "the peer got nothing");
        Assert.Equal(frame, received);
        await Eventually.WaitUntilAsync(() => front.Tx.UsedIndex == 1, "the transmitted frame used", 30_000);
        Assert.Equal((0u, 0u), front.Tx.Used(0));
    }

    [Fact]
    public async Task A_frame_from_the_peer_lands_in_a_receive_buffer_behind_a_header_and_the_guest_is_called()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        front.OfferReceiveBuffers(4, 0x1000);

        var frame = Enumerable.Range(0, 100).Select(i => (byte)(i + 1)).ToArray();
        peer.Inject(frame);
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]), "the guest was not called");
        Assert.Equal(1, front.Rx.UsedIndex);
        Assert.Equal((0u, 112u), front.Rx.Used(0));
        var written = front.Memory.At(TestDriverRing.BuffersAt, 112);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(written[10..])); // num_buffers
        Assert.Equal(frame, written[12..].ToArray());
    }

    [Fact]
    public async Task A_frame_larger_than_one_buffer_spans_several_with_mergeable_buffers()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        front.OfferReceiveBuffers(4, 1000);

        var frame = Enumerable.Range(0, 2500).Select(i => (byte)i).ToArray();
        peer.Inject(frame);
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]));
        Assert.Equal(3, front.Rx.UsedIndex);
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(front.Memory.At(TestDriverRing.BuffersAt + 10, 2)));
        Assert.Equal((2u, 512u), front.Rx.Used(2));
        var joined = front.Memory.At(TestDriverRing.BuffersAt + 12, 988).ToArray()
            .Concat(front.Memory.At(TestDriverRing.BuffersAt + 0x1000, 1000).ToArray())
            .Concat(front.Memory.At(TestDriverRing.BuffersAt + 0x2000, 512).ToArray());
        Assert.Equal(frame, joined);
    }

    [Fact]
    public async Task A_frame_from_a_peer_that_reads_in_place_is_read_straight_into_a_buffer_that_holds_any_frame()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend(vnetHeader: true);
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        front.OfferReceiveBuffers(1, 0x11000);

        // As a tap reads it: a 12-byte header (its num_buffers left as it was), then the frame.
        var frame = new byte[12 + 1500];
        frame[10] = 0xee;
        frame[11] = 0xee;
        for (var i = 12; i < frame.Length; i++)
        {
            frame[i] = (byte)i;
        }

        Assert.True(peer.InjectInPlace(frame), "the back-end did not lend the buffer");
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]), "the guest was not called");
        Assert.Equal((0u, (uint)frame.Length), front.Rx.Used(0));
        var written = front.Memory.At(TestDriverRing.BuffersAt, frame.Length);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(written[10..])); // num_buffers
        Assert.Equal(frame[12..], written[12..].ToArray());
        Assert.Equal(1, backend.Stats.ReceivedInPlace);
    }

    [Fact]
    public async Task Receive_buffers_smaller_than_the_largest_frame_take_frames_the_ordinary_way()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend(vnetHeader: true);
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        front.OfferReceiveBuffers(4, 0x1000);

        var frame = new byte[12 + 100];
        frame.AsSpan(12).Fill(0x42);
        Assert.False(peer.InjectInPlace(frame));
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]), "the guest was not called");
        Assert.Equal((0u, 112u), front.Rx.Used(0));
        Assert.Equal(frame[12..], front.Memory.At(TestDriverRing.BuffersAt + 12, 100).ToArray());
        Assert.Equal(0, backend.Stats.ReceivedInPlace);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_frame_whose_checksum_the_guest_cannot_take_arrives_with_the_checksum_done(bool inPieces)
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend(vnetHeader: true);
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features); // no GUEST_CSUM
        front.OfferReceiveBuffers(1, 0x11000);

        // Read in place as a tap reads it, or in pieces as the user netdev sends a large segment:
        // the headers in the head, the payload in two pieces.
        var frame = PartialChecksumUdpFrame(33);
        var expected = Fold(frame.AsSpan(12 + 34));
        if (inPieces)
        {
            Assert.Equal(Core.Clients.DeliveryResult.Delivered, peer.InjectPieces(frame.AsSpan(0, 12 + 42), frame.AsSpan(12 + 42, 21), frame.AsSpan(12 + 42 + 21)));
        }
        else
        {
            Assert.True(peer.InjectInPlace(frame));
        }

        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]), "the guest was not called");
        Assert.Equal((0u, (uint)frame.Length), front.Rx.Used(0));
        var written = front.Memory.At(TestDriverRing.BuffersAt, frame.Length).ToArray();
        Assert.Equal(0, written[0]); // no NEEDS_CSUM left for a guest that did not ask for it
        Assert.Equal(expected, BinaryPrimitives.ReadUInt16BigEndian(written.AsSpan(12 + 34 + 6)));
        Assert.Equal(frame[(12 + 42)..], written[(12 + 42)..]);
    }

    [Fact]
    public async Task A_frame_in_pieces_is_copied_into_the_guests_buffers_from_its_pieces_across_buffer_boundaries()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend(vnetHeader: true);
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        front.OfferReceiveBuffers(4, 1000);

        // As the user netdev sends a large segment: header and frame headers, then the payload
        // from its send ring in two pieces (the ring wrapped); neither piece ends on a buffer's end.
        var head = new byte[12 + 54];
        head[10] = 0xee; // num_buffers as the sender left it: the back-end writes its own
        for (var i = 12; i < head.Length; i++)
        {
            head[i] = (byte)(i * 3);
        }

        byte[] body1 = [.. Enumerable.Range(0, 1000).Select(i => (byte)(i * 7))];
        byte[] body2 = [.. Enumerable.Range(0, 1500).Select(i => (byte)(i * 13))];
        Assert.Equal(Core.Clients.DeliveryResult.Delivered, peer.InjectPieces(head, body1, body2));
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]), "the guest was not called");

        // 12 + 54 + 2500 bytes: two full buffers and 566 bytes of a third.
        Assert.Equal(3, front.Rx.UsedIndex);
        Assert.Equal((0u, 1000u), front.Rx.Used(0));
        Assert.Equal((2u, 566u), front.Rx.Used(2));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(front.Memory.At(TestDriverRing.BuffersAt + 10, 2)));
        var joined = front.Memory.At(TestDriverRing.BuffersAt + 12, 988).ToArray()
            .Concat(front.Memory.At(TestDriverRing.BuffersAt + 0x1000, 1000).ToArray())
            .Concat(front.Memory.At(TestDriverRing.BuffersAt + 0x2000, 566).ToArray());
        Assert.Equal([.. head[12..], .. body1, .. body2], joined);
        Assert.Equal(1, backend.Stats.ReceivedInPieces);
    }

    [Fact]
    public async Task Pieces_for_a_guest_without_buffers_wait_as_a_copy_and_go_in_once_the_guest_kicks()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend(vnetHeader: true);
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        var head = new byte[12 + 20];
        head.AsSpan(12).Fill(0x11);
        var body1 = new byte[300];
        body1.AsSpan().Fill(0x22);
        var body2 = new byte[200];
        body2.AsSpan().Fill(0x33);
        Assert.Equal(Core.Clients.DeliveryResult.Queued, peer.InjectPieces(head, body1, body2));

        // The pieces were only lent for the call: the sender reuses its buffers at once.
        byte[] expected = [.. head[12..], .. body1, .. body2];
        body1.AsSpan().Clear();
        body2.AsSpan().Clear();

        front.OfferReceiveBuffers(1, 0x1000);
        ScriptedFrontEnd.Kick(front.Kicks[0]);
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]));
        Assert.Equal((0u, (uint)(12 + expected.Length)), front.Rx.Used(0));
        Assert.Equal(expected, front.Memory.At(TestDriverRing.BuffersAt + 12, expected.Length).ToArray());
        Assert.Equal(0, backend.Stats.ReceivedInPieces);
    }

    /// <summary>
    /// A 12-byte virtio-net header asking NEEDS_CSUM (from offset 34, the field at +6), then
    /// Ethernet + IPv4 + UDP with <paramref name="payload"/> bytes: the UDP checksum left to the device.
    /// </summary>
    private static byte[] PartialChecksumUdpFrame(int payload)
    {
        var frame = new byte[12 + 14 + 20 + 8 + payload];
        frame[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(6), 34);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(8), 6);
        var ethernet = frame.AsSpan(12);
        ethernet[12] = 0x08;
        ethernet[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ethernet[16..], (ushort)(20 + 8 + payload));
        ethernet[22] = 64;
        ethernet[23] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(ethernet[38..], (ushort)(8 + payload));
        for (var i = 42; i < ethernet.Length; i++)
        {
            ethernet[i] = (byte)(i * 7);
        }

        return frame;
    }

    /// <summary>The Internet checksum of <paramref name="bytes"/> (the partial sum a sender left in the field included).</summary>
    private static ushort Fold(ReadOnlySpan<byte> bytes)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < bytes.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
        }

        if (bytes.Length % 2 == 1)
        {
            sum += (uint)bytes[^1] << 8;
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    [Fact]
    public async Task Frames_wait_for_receive_buffers_and_go_in_once_the_guest_kicks()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        Assert.Equal(Core.Clients.DeliveryResult.Queued, peer.Inject(new byte[60]));

        front.OfferReceiveBuffers(1, 0x1000);
        ScriptedFrontEnd.Kick(front.Kicks[0]);
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]));
        Assert.Equal((0u, 72u), front.Rx.Used(0));
    }

    [Fact]
    public async Task A_frame_larger_than_the_buffers_offered_waits_for_more_instead_of_retrying_for_ever()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        front.OfferReceiveBuffers(2, 1000);

        // Two buffers of 1000 bytes for a frame of 2512: it must wait (the delivery returns), taking nothing.
        var delivery = Task.Run(() => peer.Inject(new byte[2500]));
        Assert.True(await Task.WhenAny(delivery, Task.Delay(30_000)) == delivery, "the delivery never returned");
        Assert.Equal(Core.Clients.DeliveryResult.Queued, await delivery);
        Assert.Equal(0, front.Rx.UsedIndex);

        front.OfferReceiveBuffers(1, 1000, first: 2);
        ScriptedFrontEnd.Kick(front.Kicks[0]);
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]));
        Assert.Equal(3, front.Rx.UsedIndex);
    }

    [Fact]
    public async Task Get_vring_base_stops_the_ring_and_returns_where_it_stopped()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        for (ushort i = 0; i < 3; i++)
        {
            front.Memory.At(TestDriverRing.BuffersAt + (ulong)(i * 0x100), 72).Clear();
            front.Tx.SetDescriptor(i, TestDriverRing.BuffersAt + (ulong)(i * 0x100), 72, 0, 0);
            front.Tx.Offer(i);
        }

        ScriptedFrontEnd.Kick(front.Kicks[1]);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(peer.Frames.TryTake(out _, 30_000));
        }

        var reply = front.Request(VhostUserRequest.GetVringBase, ScriptedFrontEnd.State(1, 0), expectReply: true);
        Assert.True(VringState.TryRead(reply, out var state));
        Assert.Equal(new VringState(1, 3), state);

        // Stopped: a new frame and a kick move nothing.
        front.Tx.SetDescriptor(3, TestDriverRing.BuffersAt, 72, 0, 0);
        front.Tx.Offer(3);
        ScriptedFrontEnd.Kick(front.Kicks[1]);
        Assert.False(peer.Frames.TryTake(out _, 300));
    }

    [Fact]
    public async Task Send_rarp_announces_the_guests_mac_to_the_peer()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        front.Request(VhostUserRequest.SetProtocolFeatures, ScriptedFrontEnd.U64(VhostUserBackendFeaturesProbe.ProtocolOffered));
        byte[] mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        front.Request(VhostUserRequest.SendRarp, [.. mac, 0, 0]);
        Assert.True(peer.Frames.TryTake(out var rarp, 30_000));
        Assert.Equal(60, rarp.Length);
        Assert.Equal(mac, rarp[6..12]);
        Assert.Equal(0x8035, BinaryPrimitives.ReadUInt16BigEndian(rarp.AsSpan(12)));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(rarp.AsSpan(20)));
    }

    public static TheoryData<string> BadMessages => ["unoffered-feature", "vring-index", "ring-size", "fd-count", "bad-table", "ring-outside", "unknown", "oversized", "bad-version", "short-payload"];

    [Theory]
    [MemberData(nameof(BadMessages))]
    public async Task A_bad_message_is_refused_and_the_connection_closed_and_the_next_front_end_is_served(string bad)
    {
        var (backend, _, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using (var front = ScriptedFrontEnd.Connect(path))
        {
            front.Request(VhostUserRequest.SetProtocolFeatures, ScriptedFrontEnd.U64(VhostUserProtocolFeatures.Bit(VhostUserProtocolFeatures.ReplyAck)));
            var table = new byte[8 + 32];
            MemoryTablePayload.Write(table, [front.Memory.Region]);
            byte[]? reply = null;
            switch (bad)
            {
                case "unoffered-feature":
                    reply = front.Request(VhostUserRequest.SetFeatures, ScriptedFrontEnd.U64(1UL << 63), needReply: true);
                    break;
                case "vring-index":
                    reply = front.Request(VhostUserRequest.SetVringNum, ScriptedFrontEnd.State(2, 64), needReply: true);
                    break;
                case "ring-size":
                    reply = front.Request(VhostUserRequest.SetVringNum, ScriptedFrontEnd.State(0, 100), needReply: true);
                    break;
                case "fd-count":
                    reply = front.Request(VhostUserRequest.SetMemTable, table, needReply: true);
                    break;
                case "bad-table":
                    BinaryPrimitives.WriteUInt32LittleEndian(table, 9);
                    reply = front.Request(VhostUserRequest.SetMemTable, table, needReply: true, fds: front.Memory.Fd);
                    break;
                case "ring-outside":
                    front.Request(VhostUserRequest.SetMemTable, table, fds: front.Memory.Fd);
                    front.Request(VhostUserRequest.SetVringNum, ScriptedFrontEnd.State(0, 64));
                    var address = new byte[VringAddress.Size];
                    new VringAddress(0, 0, TestGuestMemory.UserBase + TestGuestMemory.Size - 16, TestGuestMemory.UserBase, TestGuestMemory.UserBase + 0x8000, 0).Write(address);
                    front.Request(VhostUserRequest.SetVringAddr, address);
                    reply = front.Request(VhostUserRequest.SetVringKick, ScriptedFrontEnd.U64(0), needReply: true, fds: front.Kicks[0]);
                    break;
                case "unknown":
                    reply = front.Request((VhostUserRequest)999, [], needReply: true);
                    break;
                case "oversized":
                    var header = new byte[12];
                    VhostUserHeader.Write(header, VhostUserRequest.SetMemTable, 0, 0);
                    BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 1 << 20);
                    front.Channel.Socket.Send(header);
                    break;
                case "bad-version":
                    var wrong = new byte[12];
                    BinaryPrimitives.WriteUInt32LittleEndian(wrong, 1);
                    BinaryPrimitives.WriteUInt32LittleEndian(wrong.AsSpan(4), 2);
                    front.Channel.Socket.Send(wrong);
                    break;
                case "short-payload":
                    reply = front.Request(VhostUserRequest.SetVringAddr, new byte[39], needReply: true);
                    break;
            }

            if (reply is not null)
            {
                Assert.True(VhostUserU64.TryRead(reply, out var ack));
                Assert.NotEqual(0UL, ack);
            }

            Assert.True(front.IsClosedByBackend(), $"{bad}: the connection stayed open");
        }

        await Eventually.WaitUntilAsync(() => backend.RefusedConnections == 1 && !backend.Connected, "the connection refused and dropped", 30_000);
        using var next = ScriptedFrontEnd.Connect(path);
        Assert.NotEqual(0UL, next.RequestU64(VhostUserRequest.GetFeatures));
        Assert.Equal(2, backend.Sessions);
    }

    [Fact]
    public async Task A_kick_descriptor_that_hangs_up_closes_the_connection_instead_of_spinning_the_poll_thread()
    {
        // The spec wants an eventfd; a hostile front-end sends the read end of a pipe whose write
        // end it closed. It polls POLLHUP for ever: left in the poll set, the ring's thread spins
        // at 100% (a socket at end of file does the same with POLLIN and reads of 0).
        var (backend, _, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        Assert.Equal(0, Netdevd.Native.Libc.Pipe2(out var readEnd, out var writeEnd, Netdevd.Native.Libc.O_CLOEXEC));
        using var kick = new Microsoft.Win32.SafeHandles.SafeFileHandle(readEnd, ownsHandle: true);
        Netdevd.Native.Libc.Close(writeEnd);
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        // No ack asked for: the poll thread may refuse before the ack would leave.
        front.Request(VhostUserRequest.SetVringKick, ScriptedFrontEnd.U64(1), fds: kick);
        front.Channel.Socket.ReceiveTimeout = 3000;
        var closed = front.IsClosedByBackend();
        TestContext.Current.SendDiagnosticMessage($"CPU used meanwhile: {(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds} ms");
        Assert.True(closed, "the connection stayed open with a dead kick descriptor");
        await Eventually.WaitUntilAsync(() => backend.RefusedConnections == 1 && !backend.Connected, "the connection refused and dropped", 30_000);
        using var next = ScriptedFrontEnd.Connect(path);
        Assert.NotEqual(0UL, next.RequestU64(VhostUserRequest.GetFeatures));
    }

    [Theory]
    [InlineData("loop")]
    [InlineData("outside")]
    [InlineData("available-index")]
    public async Task A_broken_transmit_ring_closes_the_connection_and_netdevd_goes_on(string broken)
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        switch (broken)
        {
            case "loop":
                front.Tx.SetDescriptor(0, TestDriverRing.BuffersAt, 16, SplitRingLayout.DescriptorNext, 1);
                front.Tx.SetDescriptor(1, TestDriverRing.BuffersAt, 16, SplitRingLayout.DescriptorNext, 0);
                front.Tx.Offer(0);
                break;
            case "outside":
                front.Tx.SetDescriptor(0, TestGuestMemory.GuestBase + TestGuestMemory.Size - 4, 64, 0, 0);
                front.Tx.Offer(0);
                break;
            case "available-index":
                front.Tx.SetAvailableIndex(1000);
                break;
        }

        ScriptedFrontEnd.Kick(front.Kicks[1]);
        Assert.True(front.IsClosedByBackend(), $"{broken}: the connection stayed open");
        await Eventually.WaitUntilAsync(() => backend.RefusedConnections == 1 && !backend.Connected, "the connection refused and dropped", 30_000);
        Assert.Empty(peer.Frames);
    }

    [Fact]
    public async Task Each_front_end_that_goes_away_is_reported_once()
    {
        // passt's --one-off leaves on this (libvirt's vhostuser interface: QEMU quit).
        var (backend, _, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        var gone = 0;
        backend.FrontendGone += (_, _) => Interlocked.Increment(ref gone);
        using (var front = ScriptedFrontEnd.Connect(path))
        {
            Assert.NotEqual(0UL, front.RequestU64(VhostUserRequest.GetFeatures));
            Assert.Equal(0, Volatile.Read(ref gone));
        }

        await Eventually.WaitUntilAsync(() => Volatile.Read(ref gone) == 1 && !backend.Connected, "the disconnection reported once", 30_000);
        using var next = ScriptedFrontEnd.Connect(path);
        Assert.NotEqual(0UL, next.RequestU64(VhostUserRequest.GetFeatures));
        Assert.Equal(1, Volatile.Read(ref gone));
    }

    [Fact]
    public async Task Deleting_the_netdev_closes_the_front_end_and_removes_the_socket()
    {
        var (backend, _, path) = ScriptedFrontEnd.StartBackend();
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features);
        await backend.DisposeAsync();
        Assert.True(front.IsClosedByBackend());
        Assert.False(File.Exists(path));
    }
}
