using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.Tests.VhostUser;

/// <summary>The device's side of a packed ring against a test driver: taking, walking, used descriptors, wrap counters, event suppression, faults.</summary>
public sealed class PackedVirtqueueTests
{
    private const ulong Buffers = TestDriverRing.BuffersAt;

    private static PackedVirtqueue Queue(TestGuestMemory memory, TestPackedDriverRing ring, bool eventIndex = false, ushort @base = PackedRingLayout.WrapBit) =>
        PackedVirtqueue.TryCreate(memory.Memory, ring.Address, ring.Size, @base, eventIndex, out var error) ?? throw new InvalidOperationException(error);

    private static int WalkAll(Virtqueue queue, ChainHead head, out RingFault fault)
    {
        var chain = queue.Walk(head);
        var buffers = 0;
        while (chain.TryNext(out _, out fault))
        {
            buffers++;
        }

        return buffers;
    }

    [Fact]
    public void A_chain_straddling_the_end_of_the_ring_is_walked_in_order_and_used_once_under_the_last_descriptors_id()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 4);
        var queue = Queue(memory, ring);

        // Three single chains move the driver to slot 3; the next chain takes slots 3, 0 and 1.
        for (var i = 0; i < 3; i++)
        {
            ring.Offer((Buffers, 1, false));
            Assert.True(queue.TryTake(out var single, out _));
            queue.AddUsed(single, 0);
        }

        queue.PublishUsed();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(ring.TryTakeUsed(out _, out _));
        }

        memory.At(Buffers, 4).Fill(1);
        memory.At(Buffers + 0x100, 6).Fill(2);
        var id = ring.Offer((Buffers, 4, false), (Buffers + 0x100, 6, true), (Buffers + 0x200, 8, true));
        Assert.True(queue.TryTake(out var head, out var fault), fault.ToString());
        Assert.Equal(new ChainHead(3, id, 3), head);
        var chain = queue.Walk(head);
        Assert.True(chain.TryNext(out var first, out _));
        Assert.Equal([1, 1, 1, 1], first.Span.ToArray());
        Assert.False(first.Writable);
        Assert.True(chain.TryNext(out var second, out _));
        Assert.True(second.Writable);
        Assert.Equal(6, second.Length);
        Assert.True(chain.TryNext(out var third, out _));
        Assert.Equal(8, third.Length);
        Assert.False(chain.TryNext(out _, out fault));
        Assert.Equal(RingFault.None, fault);

        // Nothing is visible to the driver before publishing; then one used descriptor, and the driver's used slot moves by three.
        queue.AddUsed(head, 14);
        Assert.False(ring.TryTakeUsed(out _, out _));
        queue.PublishUsed();
        Assert.True(ring.TryTakeUsed(out var usedId, out var length));
        Assert.Equal((id, 14u), (usedId, length));
        Assert.Equal(0, ring.Outstanding);
        Assert.Equal(0x0002, queue.Base);
        Assert.Equal(0x0002, queue.UsedPosition);
        Assert.False(queue.TryTake(out _, out fault));
        Assert.Equal(RingFault.None, fault);
    }

    [Fact]
    public void A_batch_becomes_visible_at_once_when_published()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 2);
        var queue = Queue(memory, ring);
        ring.Offer((Buffers, 1, false));
        ring.Offer((Buffers, 1, false));
        Assert.True(queue.TryTake(out var a, out _));
        Assert.True(queue.TryTake(out var b, out _));

        // The ring is all taken, the wrap counter flipped: the slot ahead still shows the driver's flags and is not a fault.
        Assert.False(queue.TryTake(out _, out var fault));
        Assert.Equal(RingFault.None, fault);
        queue.AddUsed(a, 0);
        Assert.False(queue.TryTake(out _, out fault));
        Assert.Equal(RingFault.None, fault);
        queue.AddUsed(b, 0);
        Assert.False(ring.TryTakeUsed(out _, out _));
        queue.PublishUsed();
        Assert.True(ring.TryTakeUsed(out var first, out _));
        Assert.True(ring.TryTakeUsed(out var second, out _));
        Assert.Equal((a.Id, b.Id), (first, second));
        Assert.Equal(0x0000, queue.Base);
    }

    [Fact]
    public void Rewind_gives_chains_back_with_the_wrap_counter_they_were_taken_under()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 2);
        var queue = Queue(memory, ring);
        ring.Offer((Buffers, 8, true));
        ring.Offer((Buffers, 8, true));
        var mark = queue.Mark();
        Assert.True(queue.TryTake(out var a, out _));
        Assert.True(queue.TryTake(out _, out _));
        Assert.Equal(0x0000, queue.Base);
        queue.Rewind(mark);
        Assert.Equal(PackedRingLayout.WrapBit, queue.Base);
        Assert.True(queue.TryTake(out var again, out _));
        Assert.Equal(a, again);
    }

    [Fact]
    public void A_base_resumes_at_its_slot_with_its_wrap_counter()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 4);
        ring.Resume(0x0003);
        var queue = Queue(memory, ring, @base: 0x0003);
        var id = ring.Offer((Buffers, 8, false), (Buffers, 8, false));
        Assert.True(queue.TryTake(out var head, out _));
        Assert.Equal(new ChainHead(3, id, 2), head);
        Assert.Equal(0x8001, queue.Base);
        queue.AddUsed(head, 0);
        queue.PublishUsed();
        Assert.True(ring.TryTakeUsed(out var used, out _));
        Assert.Equal(id, used);
    }

    [Theory]
    [InlineData(0u, 0)]
    [InlineData(32769u, 0)]
    [InlineData(8u, 8)]
    [InlineData(8u, 0x8008)]
    public void A_bad_size_or_base_is_refused(uint size, ushort @base)
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 8);
        Assert.Null(PackedVirtqueue.TryCreate(memory.Memory, ring.Address, size, @base, false, out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Misplaced_ring_parts_are_refused()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 8);
        var end = TestDriverRing.ToUser(TestGuestMemory.GuestBase + TestGuestMemory.Size);
        Assert.Null(PackedVirtqueue.TryCreate(memory.Memory, ring.Address with { Descriptors = end - 64 }, 8, 0, false, out _));
        Assert.Null(PackedVirtqueue.TryCreate(memory.Memory, ring.Address with { Used = end - 2 }, 8, 0, false, out _));
        Assert.Null(PackedVirtqueue.TryCreate(memory.Memory, ring.Address with { Available = ring.Address.Available + 2 }, 8, 0, false, out var error));
        Assert.Contains("misaligned", error);
        Assert.NotNull(PackedVirtqueue.TryCreate(memory.Memory, ring.Address, 7, 0, false, out _));
    }

    [Fact]
    public void Hostile_slots_end_with_faults_and_never_leave_the_ring()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 4);
        var available = PackedRingLayout.AvailableFlags(true);
        var queue = Queue(memory, ring);

        for (var slot = 0; slot < 4; slot++)
        {
            ring.SetDescriptor(slot, Buffers, 8, 0, (ushort)(available | SplitRingLayout.DescriptorNext));
        }

        Assert.False(queue.TryTake(out _, out var fault));
        Assert.Equal(RingFault.ChainTooLong, fault);

        ring.SetDescriptor(0, Buffers, 8, 4, available);
        Assert.False(Queue(memory, ring).TryTake(out _, out fault));
        Assert.Equal(RingFault.DescriptorIndexOutOfRange, fault);

        ring.SetDescriptor(0, Buffers, 8, 0, PackedRingLayout.UsedFlags(true));
        Assert.False(Queue(memory, ring).TryTake(out _, out fault));
        Assert.Equal(RingFault.BadWrapFlags, fault);

        ring.SetDescriptor(0, Buffers, 8, 0, PackedRingLayout.AvailableFlags(false));
        Assert.False(Queue(memory, ring).TryTake(out _, out fault));
        Assert.Equal(RingFault.BadWrapFlags, fault);

        ring.SetDescriptor(0, Buffers, 8, 0, (ushort)(available | SplitRingLayout.DescriptorIndirect));
        queue = Queue(memory, ring);
        Assert.True(queue.TryTake(out var head, out _));
        Assert.Equal(0, WalkAll(queue, head, out fault));
        Assert.Equal(RingFault.IndirectNotNegotiated, fault);

        ring.SetDescriptor(0, TestGuestMemory.GuestBase + TestGuestMemory.Size - 4, 8, 0, available);
        queue = Queue(memory, ring);
        Assert.True(queue.TryTake(out head, out _));
        Assert.Equal(0, WalkAll(queue, head, out fault));
        Assert.Equal(RingFault.BufferOutsideMemory, fault);

        ring.SetDescriptor(0, Buffers, 8, 0, (ushort)(available | SplitRingLayout.DescriptorNext | SplitRingLayout.DescriptorWrite));
        ring.SetDescriptor(1, Buffers, 8, 0, available);
        queue = Queue(memory, ring);
        Assert.True(queue.TryTake(out head, out _));
        Assert.Equal(1, WalkAll(queue, head, out fault));
        Assert.Equal(RingFault.WrongDirection, fault);
    }

    [Fact]
    public void A_chain_the_driver_rewrites_after_it_was_taken_is_walked_no_further_than_it_was_counted()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 4);
        var queue = Queue(memory, ring);
        ring.Offer((Buffers, 8, false), (Buffers, 8, false));
        Assert.True(queue.TryTake(out var head, out _));
        Assert.Equal(2, head.Descriptors);
        var available = PackedRingLayout.AvailableFlags(true);
        for (var slot = 0; slot < 4; slot++)
        {
            ring.SetDescriptor(slot, Buffers, 8, 0, (ushort)(available | SplitRingLayout.DescriptorNext));
        }

        Assert.Equal(2, WalkAll(queue, head, out var fault));
        Assert.Equal(RingFault.None, fault);
    }

    [Fact]
    public void Without_event_index_the_driver_event_flags_decide_interrupts_and_the_device_flags_ask_for_kicks()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 8);
        var queue = Queue(memory, ring);
        ring.Offer((Buffers, 1, false));
        Assert.True(queue.TryTake(out var head, out _));
        queue.AddUsed(head, 0);
        queue.PublishUsed();
        Assert.True(queue.ShouldSignal());
        ring.SetDriverEvent(0, PackedRingLayout.EventDisable);
        Assert.False(queue.ShouldSignal());

        // EVENT_DESC is EVENT_IDX's: without it, it reads as enabled.
        ring.SetDriverEvent(0, PackedRingLayout.EventDescriptor);
        Assert.True(queue.ShouldSignal());

        Assert.False(queue.SetKickWanted(false));
        Assert.Equal(PackedRingLayout.EventDisable, ring.DeviceEventFlags);
        Assert.False(queue.SetKickWanted(true));
        Assert.Equal(PackedRingLayout.EventEnable, ring.DeviceEventFlags);
        ring.Offer((Buffers, 1, false));
        Assert.True(queue.SetKickWanted(true));
    }

    [Fact]
    public void With_event_index_the_device_asks_for_a_kick_at_its_next_slot_and_wrap_counter()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 2);
        var queue = Queue(memory, ring, eventIndex: true);
        Assert.False(queue.SetKickWanted(true));
        Assert.Equal(PackedRingLayout.EventDescriptor, ring.DeviceEventFlags);
        Assert.Equal(0x8000, ring.DeviceEventOffWrap);
        for (var i = 0; i < 3; i++)
        {
            ring.Offer((Buffers, 1, false));
            Assert.True(queue.TryTake(out var head, out _));
            queue.AddUsed(head, 0);
            queue.PublishUsed();
            Assert.True(ring.TryTakeUsed(out _, out _));
        }

        Assert.False(queue.SetKickWanted(true));
        Assert.Equal(0x0001, ring.DeviceEventOffWrap);
        Assert.False(queue.SetKickWanted(false));
        Assert.Equal(PackedRingLayout.EventDisable, ring.DeviceEventFlags);
    }

    [Fact]
    public void With_event_index_an_interrupt_is_not_missed_after_the_driver_had_them_disabled_for_a_lap()
    {
        // A guest's NAPI disables interrupts while it polls, then asks for one at the used slot it
        // saw last. The position the device compares against must follow every publish, also
        // while interrupts are off (as DPDK and vhost keep it): a stale one from a lap before
        // made a batch that passed the driver's slot look as if it had not, and the guest waited
        // for an interrupt that never came (a download through a packed ring stalled).
        using var memory = new TestGuestMemory();
        var ring = new TestPackedDriverRing(memory, 8);
        var queue = Queue(memory, ring, eventIndex: true);
        ring.SetDriverEvent(0x8000 | 7, PackedRingLayout.EventDescriptor);
        for (var i = 0; i < 4; i++)
        {
            UseOne(ring, queue);
            _ = queue.ShouldSignal();
        }

        ring.SetDriverEvent(0, PackedRingLayout.EventDisable);
        for (var i = 0; i < 6; i++)
        {
            UseOne(ring, queue);
            Assert.False(queue.ShouldSignal());
        }

        // Ten used: the next used slot is 2 of the second lap (used wrap counter 0). The driver
        // saw them all and asks for an interrupt when slot 2 is used; a batch of three uses 2-4.
        ring.SetDriverEvent(2, PackedRingLayout.EventDescriptor);
        for (var i = 0; i < 3; i++)
        {
            ring.Offer((Buffers, 1, false));
            Assert.True(queue.TryTake(out var head, out _));
            queue.AddUsed(head, 0);
        }

        queue.PublishUsed();
        Assert.True(queue.ShouldSignal());
    }

    private static void UseOne(TestPackedDriverRing ring, Virtqueue queue)
    {
        ring.Offer((Buffers, 1, false));
        Assert.True(queue.TryTake(out var head, out _));
        queue.AddUsed(head, 0);
        queue.PublishUsed();
        Assert.True(ring.TryTakeUsed(out _, out _));
    }
}
