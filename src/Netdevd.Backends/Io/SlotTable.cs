namespace Netdevd.Backends.Io;

/// <summary>
/// A table of items by the small number their epoll events carry, replaced on every change and
/// never changed in place, so the thread that waits reads it without a lock; slot 0 is the
/// owner's own (its wake-up eventfd, or none). The I/O thread's loops and the idle-read waker's
/// threads are kept so.
/// </summary>
internal static class SlotTable
{
    /// <summary>A copy of <paramref name="slots"/> with <paramref name="item"/> in the first free slot above 0 (one more slot when none is free), and that slot.</summary>
    public static T?[] With<T>(T?[] slots, T item, out int slot)
        where T : class
    {
        var free = Array.IndexOf(slots, null, 1);
        var next = free > 0 ? (T?[])slots.Clone() : [.. slots, null];
        slot = free > 0 ? free : slots.Length;
        next[slot] = item;
        return next;
    }

    /// <summary>A copy of <paramref name="slots"/> with <paramref name="slot"/> free.</summary>
    public static T?[] Without<T>(T?[] slots, int slot)
        where T : class
    {
        var next = (T?[])slots.Clone();
        next[slot] = null;
        return next;
    }
}
