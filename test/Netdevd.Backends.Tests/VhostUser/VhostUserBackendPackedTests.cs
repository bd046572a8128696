using System.Buffers.Binary;
using Netdevd.Backends.VhostUser.Protocol;
using Netdevd.Core.Clients;
using Netdevd.Native;
using Netdevd.Tests.Shared;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>
/// The back-end on packed rings (RING_PACKED acked) against a scripted front-end playing Linux's
/// driver: frames both ways over several laps of rings of several sizes, chains, mergeable
/// receive buffers, event suppression both ways, the wrap counter in GET/SET_VRING_BASE, and
/// hostile rings refused.
/// </summary>
public sealed class VhostUserBackendPackedTests
{
    private const ulong Buffers = TestDriverRing.BuffersAt;

    private static readonly ulong Features = VirtioFeatures.Bit(VirtioFeatures.Version1) | VirtioFeatures.Bit(VirtioFeatures.NetMrgRxbuf)
        | VirtioFeatures.Bit(VirtioFeatures.RingEventIdx) | VirtioFeatures.Bit(VirtioFeatures.VhostUserProtocolFeatures)
        | VirtioFeatures.Bit(VirtioFeatures.RingPacked);

    private static byte[] Frame(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)(i + seed)).ToArray();

    /// <summary>Whether the call eventfd was signalled (read and reset); never waits.</summary>
    private static bool Called(ScriptedFrontEnd front, int queue)
    {
        var fd = (int)front.Calls[queue].DangerousGetHandle();
        Span<PollFd> poll = [new PollFd { Fd = fd, Events = Libc.POLLIN }];
        if (Libc.Poll(poll, 0) <= 0)
        {
            return false;
        }

        Span<byte> counter = stackalloc byte[8];
        return Libc.Read(fd, counter) == 8;
    }

    private static (ushort Id, uint Length) TakeUsed(TestPackedDriverRing ring)
    {
        Assert.True(ring.TryTakeUsed(out var id, out var length), "no used descriptor");
        return (id, length);
    }

    private static async Task<(ushort Id, uint Length)> TakeUsedAsync(TestPackedDriverRing ring)
    {
        for (var i = 0; i < 3000; i++)
        {
            if (ring.TryTakeUsed(out var id, out var length))
            {
                return (id, length);
            }

            await Task.Delay(10);
        }

        Assert.Fail("the device used nothing");
        return default;
    }

    [Fact]
    public async Task Ring_packed_is_offered()
    {
        var (backend, _, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        var features = front.RequestU64(VhostUserRequest.GetFeatures);
        Assert.True(VirtioFeatures.Has(features, VirtioFeatures.RingPacked), $"0x{features:x}");
        Assert.False(VirtioFeatures.Has(features, VirtioFeatures.RingIndirectDesc));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(64)]
    [InlineData(256)]
    public async Task Frames_go_both_ways_over_several_laps_of_a_packed_ring(ushort size)
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features, size);
        var tx = front.PackedTx!;
        var rx = front.PackedRx!;
        var rounds = (3 * size) + 2;
        for (var round = 0; round < rounds; round++)
        {
            // Guest to peer: header and frame in a chain of two (one descriptor on a ring of 2 every other round, so chains straddle the end).
            var frame = Frame(60 + (round % 50), round);
            front.Memory.At(Buffers, 12).Clear();
            frame.CopyTo(front.Memory.At(Buffers + 0x100, frame.Length));
            var id = round % 3 == 2
                ? tx.Offer((Buffers + 0x100 - 12, (uint)(12 + frame.Length), false))
                : tx.Offer((Buffers, 12, false), (Buffers + 0x100, (uint)frame.Length, false));
            if (round % 3 == 2)
            {
                front.Memory.At(Buffers + 0x100 - 12, 12).Clear();
            }

            ScriptedFrontEnd.Kick(front.Kicks[1]);
            Assert.True(peer.Frames.TryTake(out var sent, 30_000), $"round {round}: the peer got nothing");
            Assert.Equal(frame, sent);
            Assert.Equal((id, 0u), await TakeUsedAsync(tx));

            // Peer to guest: a chain of a header buffer and a data buffer.
            var reply = Frame(100 + round, 7 * round);
            var rxId = rx.Offer((Buffers + 0x8000, 12, true), (Buffers + 0x9000, 0x800, true));
            Assert.Equal(DeliveryResult.Delivered, peer.Inject(reply));
            Assert.True(rx.TryTakeUsed(out var usedId, out var usedLength), $"round {round}: no used descriptor; {backend.GuestDrops} dropped");
            Assert.Equal((rxId, (uint)(12 + reply.Length)), (usedId, usedLength));
            Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(front.Memory.At(Buffers + 0x8000 + 10, 2)));
            Assert.Equal(reply, front.Memory.At(Buffers + 0x9000, reply.Length).ToArray());
        }

        Assert.Equal(0, tx.Outstanding);
        Assert.Equal(0, rx.Outstanding);
        Assert.Equal(0, backend.RefusedConnections);
    }

    [Fact]
    public async Task A_frame_spans_several_receive_buffers_across_the_end_of_the_ring()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features, 4);
        var rx = front.PackedRx!;
        for (var round = 0; round < 3; round++)
        {
            // Three buffers of 1000 bytes from the driver's current slot on: the second round's wrap the ring.
            var ids = new ushort[3];
            for (var i = 0; i < 3; i++)
            {
                ids[i] = rx.Offer((Buffers + (ulong)(i * 0x1000), 1000, true));
            }

            var frame = Frame(2500, round);
            Assert.Equal(DeliveryResult.Delivered, peer.Inject(frame));
            Assert.Equal((ids[0], 1000u), TakeUsed(rx));
            Assert.Equal((ids[1], 1000u), TakeUsed(rx));
            Assert.Equal((ids[2], 512u), TakeUsed(rx));
            Assert.False(rx.TryTakeUsed(out _, out _));
            Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(front.Memory.At(Buffers + 10, 2)));
            var joined = front.Memory.At(Buffers + 12, 988).ToArray()
                .Concat(front.Memory.At(Buffers + 0x1000, 1000).ToArray())
                .Concat(front.Memory.At(Buffers + 0x2000, 512).ToArray());
            Assert.Equal(frame, joined);
        }
    }

    [Fact]
    public async Task A_frame_the_ring_cannot_hold_yet_waits_for_the_guests_kick_and_takes_nothing_meanwhile()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features, 8);
        var rx = front.PackedRx!;

        // Receive buffers need no kicks while frames find room.
        Assert.Equal(PackedRingLayout.EventDisable, rx.DeviceEventFlags);

        // Two buffers for a frame that needs three: nothing is taken, and a kick at the driver's next slot is asked for.
        var first = rx.Offer((Buffers, 1000, true));
        rx.Offer((Buffers + 0x1000, 1000, true));
        var delivery = Task.Run(() => peer.Inject(Frame(2500, 1)));
        Assert.True(await Task.WhenAny(delivery, Task.Delay(30_000)) == delivery, "the delivery never returned");
        Assert.Equal(DeliveryResult.Queued, await delivery);
        Assert.False(rx.TryTakeUsed(out _, out _));
        Assert.Equal(PackedRingLayout.EventDescriptor, rx.DeviceEventFlags);
        Assert.Equal(rx.Base, rx.DeviceEventOffWrap);

        rx.Offer((Buffers + 0x2000, 1000, true));
        ScriptedFrontEnd.Kick(front.Kicks[0]);
        Assert.True(ScriptedFrontEnd.WaitCalled(front.Calls[0]));
        Assert.Equal((first, 1000u), TakeUsed(rx));
        await Eventually.WaitUntilAsync(() => rx.DeviceEventFlags == PackedRingLayout.EventDisable, "the device's receive events disabled", 30_000);
    }

    [Fact]
    public async Task The_driver_event_structure_decides_which_used_descriptors_interrupt_the_guest()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features, 8);
        var rx = front.PackedRx!;
        var frame = Frame(60, 3);
        bool Deliver()
        {
            rx.Offer((Buffers, 0x800, true));
            Assert.Equal(DeliveryResult.Delivered, peer.Inject(frame));
            TakeUsed(rx);
            return Called(front, 0);
        }

        rx.SetDriverEvent(0, PackedRingLayout.EventDisable);
        Assert.False(Deliver()); // used slot 0 -> 1
        rx.SetDriverEvent(0, PackedRingLayout.EventEnable);
        Assert.True(Deliver()); // 1 -> 2

        // At a slot: an interrupt when the used slot passes the event's (the position compared
        // against followed the publishes made while interrupts were off or plainly on).
        rx.SetDriverEvent(2 | PackedRingLayout.WrapBit, PackedRingLayout.EventDescriptor);
        Assert.True(Deliver()); // 2 -> 3
        rx.SetDriverEvent(5 | PackedRingLayout.WrapBit, PackedRingLayout.EventDescriptor);
        Assert.False(Deliver()); // 3 -> 4
        Assert.False(Deliver()); // 4 -> 5
        Assert.True(Deliver()); // 5 -> 6: slot 5 was used

        // An event in the next lap (wrap counter 0): not reached by the end of this lap.
        rx.SetDriverEvent(1, PackedRingLayout.EventDescriptor);
        Assert.False(Deliver()); // 6 -> 7
        Assert.False(Deliver()); // 7 -> 0, wrap 0
        Assert.False(Deliver()); // 0 -> 1
        Assert.True(Deliver()); // 1 -> 2
    }

    [Fact]
    public async Task The_transmit_ring_asks_for_a_kick_at_the_drivers_next_slot_once_drained()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features, 4);
        var tx = front.PackedTx!;
        for (var i = 0; i < 6; i++)
        {
            front.Memory.At(Buffers, 72).Clear();
            tx.Offer((Buffers, 72, false));
            ScriptedFrontEnd.Kick(front.Kicks[1]);
            Assert.True(peer.Frames.TryTake(out _, 30_000));
            await TakeUsedAsync(tx);
            await Eventually.WaitUntilAsync(() => tx.DeviceEventOffWrap == tx.Base, $"the device's event off_wrap at the driver's 0x{tx.Base:x}", 30_000);
            Assert.Equal(PackedRingLayout.EventDescriptor, tx.DeviceEventFlags);
        }
    }

    [Fact]
    public async Task Get_and_set_vring_base_carry_the_wrap_counter_in_bit_15()
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using var front = ScriptedFrontEnd.Connect(path);
        front.SetUp(Features, 4);
        var tx = front.PackedTx!;
        async Task SendAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                front.Memory.At(Buffers, 72).Clear();
                tx.Offer((Buffers, 72, false));
                ScriptedFrontEnd.Kick(front.Kicks[1]);
                Assert.True(peer.Frames.TryTake(out _, 30_000), $"frame {i} did not reach the peer");
                await TakeUsedAsync(tx);
            }
        }

        VringState Stop(uint index)
        {
            var reply = front.Request(VhostUserRequest.GetVringBase, ScriptedFrontEnd.State(index, 0), expectReply: true);
            Assert.True(VringState.TryRead(reply, out var state));
            return state;
        }

        void Restart(uint @base)
        {
            ScriptedFrontEnd.AssertAck(front.Request(VhostUserRequest.SetVringBase, ScriptedFrontEnd.State(1, @base), needReply: true));
            ScriptedFrontEnd.AssertAck(front.Request(VhostUserRequest.SetVringCall, ScriptedFrontEnd.U64(1), needReply: true, fds: front.Calls[1]));
            ScriptedFrontEnd.AssertAck(front.Request(VhostUserRequest.SetVringKick, ScriptedFrontEnd.U64(1), needReply: true, fds: front.Kicks[1]));
        }

        // Five chains on a ring of four: slot 1 of the second lap, whose wrap counter is 0.
        await SendAsync(5);
        // QEMU's 32-bit form: the used slot and its wrap counter in the high half, where taking stopped.
        Assert.Equal(new VringState(1, 0x0001_0001), Stop(1));
        Assert.Equal(new VringState(0, 0x8000_8000), Stop(0));

        // Restored where it stopped (in QEMU's 32-bit form), the ring goes on.
        Restart(0x0001_0001);
        await SendAsync(4);
        Assert.Equal(new VringState(1, 0x8001_8001), Stop(1));

        Assert.Equal(0, backend.RefusedConnections);
    }

    public static TheoryData<string> HostileRings =>
        ["chain-longer-than-ring", "buffer-outside", "id-out-of-range", "used-set-by-driver", "previous-lap-flags", "indirect", "readable-receive-buffer", "base-past-ring"];

    [Theory]
    [MemberData(nameof(HostileRings))]
    public async Task A_hostile_packed_ring_closes_the_connection_and_netdevd_goes_on(string hostile)
    {
        var (backend, peer, path) = ScriptedFrontEnd.StartBackend();
        await using var owned = backend;
        using (var front = ScriptedFrontEnd.Connect(path))
        {
            front.SetUp(Features, 8);
            var tx = front.PackedTx!;
            var available = PackedRingLayout.AvailableFlags(true);
            var kick = 1;
            byte[]? reply = null;
            switch (hostile)
            {
                case "chain-longer-than-ring":
                    for (var slot = 0; slot < 8; slot++)
                    {
                        tx.SetDescriptor(slot, Buffers, 16, 0, (ushort)(available | SplitRingLayout.DescriptorNext));
                    }

                    break;
                case "buffer-outside":
                    tx.SetDescriptor(0, TestGuestMemory.GuestBase + TestGuestMemory.Size - 4, 64, 0, available);
                    break;
                case "id-out-of-range":
                    tx.SetDescriptor(0, Buffers, 72, 8, available);
                    break;
                case "used-set-by-driver":
                    tx.SetDescriptor(0, Buffers, 72, 0, PackedRingLayout.UsedFlags(true));
                    break;
                case "previous-lap-flags":
                    tx.SetDescriptor(0, Buffers, 72, 0, PackedRingLayout.AvailableFlags(false));
                    break;
                case "indirect":
                    tx.SetDescriptor(0, Buffers, 64, 0, (ushort)(available | SplitRingLayout.DescriptorIndirect));
                    break;
                case "readable-receive-buffer":
                    front.PackedRx!.Offer((Buffers, 0x800, false));
                    peer.Inject(Frame(60, 0));
                    kick = -1;
                    break;
                case "base-past-ring":
                    front.Request(VhostUserRequest.GetVringBase, ScriptedFrontEnd.State(1, 0), expectReply: true);
                    front.Request(VhostUserRequest.SetVringBase, ScriptedFrontEnd.State(1, 8 | PackedRingLayout.WrapBit));
                    reply = front.Request(VhostUserRequest.SetVringKick, ScriptedFrontEnd.U64(1), needReply: true, fds: front.Kicks[1]);
                    kick = -1;
                    break;
            }

            if (kick >= 0)
            {
                ScriptedFrontEnd.Kick(front.Kicks[kick]);
            }

            if (reply is not null)
            {
                Assert.True(VhostUserU64.TryRead(reply, out var ack));
                Assert.NotEqual(0UL, ack);
            }

            Assert.True(front.IsClosedByBackend(), $"{hostile}: the connection stayed open");
        }

        await Eventually.WaitUntilAsync(() => backend.RefusedConnections == 1 && !backend.Connected, "the connection refused and dropped", 30_000);
        Assert.Empty(peer.Frames);

        // The next front-end is served.
        using var next = ScriptedFrontEnd.Connect(path);
        next.SetUp(Features, 8);
        next.Memory.At(Buffers, 72).Clear();
        next.PackedTx!.Offer((Buffers, 72, false));
        ScriptedFrontEnd.Kick(next.Kicks[1]);
        Assert.True(peer.Frames.TryTake(out _, 30_000), "the next front-end's frame did not arrive");
    }
}
