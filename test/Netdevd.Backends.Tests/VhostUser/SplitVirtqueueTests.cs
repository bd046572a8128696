using Netdevd.Backends.VhostUser.Protocol;

namespace Netdevd.Backends.Tests.VhostUser;

public sealed class SplitVirtqueueTests
{
    private const ushort Next = SplitRingLayout.DescriptorNext;
    private const ushort Write = SplitRingLayout.DescriptorWrite;

    private static SplitVirtqueue Queue(TestGuestMemory memory, TestDriverRing ring, bool eventIndex = false) =>
        SplitVirtqueue.TryCreate(memory.Memory, ring.Address, ring.Size, 0, eventIndex, out var error) ?? throw new InvalidOperationException(error);

    private static RingFault WalkAll(SplitVirtqueue queue, out int buffers)
    {
        buffers = 0;
        Assert.True(queue.TryTake(out var head, out var takeFault), takeFault.ToString());
        var chain = queue.Walk(head);
        RingFault fault;
        while (chain.TryNext(out _, out fault))
        {
            buffers++;
        }

        return fault;
    }

    [Fact]
    public void A_chain_yields_its_buffers_in_order_and_the_used_entry_reaches_the_driver()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        memory.At(TestDriverRing.BuffersAt, 4).Fill(1);
        memory.At(TestDriverRing.BuffersAt + 0x100, 6).Fill(2);
        ring.SetDescriptor(3, TestDriverRing.BuffersAt, 4, Next, 5);
        ring.SetDescriptor(5, TestDriverRing.BuffersAt + 0x100, 6, Write, 0);
        ring.Offer(3);
        var queue = Queue(memory, ring);

        Assert.Equal(1, queue.AvailableCount());
        Assert.True(queue.TryTake(out var head, out _));
        var chain = queue.Walk(head);
        Assert.True(chain.TryNext(out var first, out _));
        Assert.Equal([1, 1, 1, 1], first.Span.ToArray());
        Assert.False(first.Writable);
        Assert.True(chain.TryNext(out var second, out _));
        Assert.True(second.Writable);
        Assert.Equal(6, second.Length);
        Assert.False(chain.TryNext(out _, out var fault));
        Assert.Equal(RingFault.None, fault);

        queue.AddUsed(chain.Head, 6);
        Assert.Equal(0, ring.UsedIndex);
        queue.PublishUsed();
        Assert.Equal(1, ring.UsedIndex);
        Assert.Equal((3u, 6u), ring.Used(0));
        Assert.False(queue.TryTake(out _, out fault));
        Assert.Equal(RingFault.None, fault);
    }

    [Fact]
    public void A_descriptor_loop_ends_with_a_fault_after_at_most_the_ring_size()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 4);
        ring.SetDescriptor(0, TestDriverRing.BuffersAt, 16, Next, 1);
        ring.SetDescriptor(1, TestDriverRing.BuffersAt, 16, Next, 0);
        ring.Offer(0);
        Assert.Equal(RingFault.ChainTooLong, WalkAll(Queue(memory, ring), out var buffers));
        Assert.Equal(4, buffers);
    }

    [Fact]
    public void A_self_loop_ends_with_a_fault()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 256);
        ring.SetDescriptor(7, TestDriverRing.BuffersAt, 1, Next, 7);
        ring.Offer(7);
        Assert.Equal(RingFault.ChainTooLong, WalkAll(Queue(memory, ring), out var buffers));
        Assert.Equal(256, buffers);
    }

    [Fact]
    public void A_next_index_past_the_ring_is_a_fault()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        ring.SetDescriptor(0, TestDriverRing.BuffersAt, 16, Next, 8);
        ring.Offer(0);
        Assert.Equal(RingFault.DescriptorIndexOutOfRange, WalkAll(Queue(memory, ring), out var buffers));
        Assert.Equal(1, buffers);
    }

    [Fact]
    public void A_head_past_the_ring_is_a_fault()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        ring.Offer(9);
        var queue = Queue(memory, ring);
        Assert.False(queue.TryTake(out _, out var fault));
        Assert.Equal(RingFault.DescriptorIndexOutOfRange, fault);
    }

    [Fact]
    public void An_available_index_more_than_a_ring_ahead_is_a_fault()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        ring.SetAvailableIndex(9);
        var queue = Queue(memory, ring);
        Assert.Equal(-1, queue.AvailableCount());
        Assert.False(queue.TryTake(out _, out var fault));
        Assert.Equal(RingFault.AvailableIndexOutOfRange, fault);
    }

    [Theory]
    [InlineData(TestGuestMemory.GuestBase + TestGuestMemory.Size - 8, 16u)]
    [InlineData(0ul, 16u)]
    [InlineData(ulong.MaxValue - 3, 16u)]
    [InlineData(TestGuestMemory.GuestBase, 0x8000_0000u)]
    public void A_buffer_outside_the_mapping_is_a_fault_and_never_read(ulong address, uint length)
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        ring.SetDescriptor(0, address, length, 0, 0);
        ring.Offer(0);
        var fault = WalkAll(Queue(memory, ring), out var buffers);
        Assert.True(fault is RingFault.BufferOutsideMemory or RingFault.BufferTooLarge, fault.ToString());
        Assert.Equal(0, buffers);
    }

    [Fact]
    public void Indirect_descriptors_and_readable_after_writable_are_faults()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        ring.SetDescriptor(0, TestDriverRing.BuffersAt, 16, SplitRingLayout.DescriptorIndirect, 0);
        ring.SetDescriptor(1, TestDriverRing.BuffersAt, 16, Write | Next, 2);
        ring.SetDescriptor(2, TestDriverRing.BuffersAt, 16, 0, 0);
        ring.Offer(0);
        ring.Offer(1);
        var queue = Queue(memory, ring);
        Assert.Equal(RingFault.IndirectNotNegotiated, WalkAll(queue, out _));
        Assert.Equal(RingFault.WrongDirection, WalkAll(queue, out var buffers));
        Assert.Equal(1, buffers);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(65536u)]
    [InlineData(uint.MaxValue)]
    public void Ring_sizes_that_are_not_powers_of_two_up_to_32768_are_refused(uint size)
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        Assert.Null(SplitVirtqueue.TryCreate(memory.Memory, ring.Address, size, 0, false, out var error));
        Assert.Contains("power of two", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Ring_parts_outside_the_mapping_or_misaligned_are_refused()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        var end = TestDriverRing.ToUser(TestGuestMemory.GuestBase + TestGuestMemory.Size);
        Assert.Null(SplitVirtqueue.TryCreate(memory.Memory, ring.Address with { Used = end - 16 }, 8, 0, false, out var error));
        Assert.Contains("outside", error, StringComparison.Ordinal);
        Assert.Null(SplitVirtqueue.TryCreate(memory.Memory, ring.Address with { Descriptors = TestGuestMemory.GuestBase }, 8, 0, false, out _));
        Assert.Null(SplitVirtqueue.TryCreate(memory.Memory, ring.Address with { Used = ring.Address.Used + 2 }, 8, 0, false, out error));
        Assert.Contains("misaligned", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_event_index_the_flags_decide_interrupts_and_kicks()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        var queue = Queue(memory, ring);
        queue.AddUsed(new ChainHead(0, 0, 1), 0);
        queue.PublishUsed();
        Assert.True(queue.ShouldSignal());
        ring.SetAvailableFlags(SplitRingLayout.AvailableNoInterrupt);
        Assert.False(queue.ShouldSignal());

        Assert.False(queue.SetKickWanted(false));
        Assert.Equal(SplitRingLayout.UsedNoNotify, ring.UsedFlags);
        ring.SetDescriptor(0, TestDriverRing.BuffersAt, 1, 0, 0);
        ring.Offer(0);
        Assert.True(queue.SetKickWanted(true));
        Assert.Equal(0, ring.UsedFlags);
    }

    [Fact]
    public void With_event_index_the_driver_is_signalled_only_when_used_event_is_crossed()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        var queue = Queue(memory, ring, eventIndex: true);
        ring.SetUsedEvent(2);
        queue.AddUsed(new ChainHead(0, 0, 1), 0);
        queue.PublishUsed();
        Assert.True(queue.ShouldSignal()); // the first signal always goes
        queue.AddUsed(new ChainHead(0, 0, 1), 0);
        queue.PublishUsed();
        Assert.False(queue.ShouldSignal()); // used 1 -> 2 does not cross used_event 2
        queue.AddUsed(new ChainHead(0, 0, 1), 0);
        queue.PublishUsed();
        Assert.True(queue.ShouldSignal()); // 2 -> 3 crosses it

        ring.SetDescriptor(0, TestDriverRing.BuffersAt, 1, 0, 0);
        Assert.False(queue.SetKickWanted(true));
        Assert.Equal(0, ring.AvailableEvent);
        ring.Offer(0);
        Assert.True(queue.TryTake(out _, out _));
        Assert.False(queue.SetKickWanted(true));
        Assert.Equal(1, ring.AvailableEvent);
    }

    [Fact]
    public void Rewind_gives_heads_back_for_a_retry()
    {
        using var memory = new TestGuestMemory();
        var ring = new TestDriverRing(memory, 8);
        ring.SetDescriptor(0, TestDriverRing.BuffersAt, 1, Write, 0);
        ring.Offer(0);
        var queue = Queue(memory, ring);
        Assert.True(queue.TryTake(out _, out _));
        Assert.Equal(1, queue.LastAvailableIndex);
        queue.Rewind(0);
        Assert.Equal(0, queue.LastAvailableIndex);
        Assert.Equal(1, queue.AvailableCount());
    }
}
