namespace Netdevd.UserNet.Interface;

/// <summary>
/// The bytes one user netdev may hold for its guest: TCP flow buffers, IPv4 reassembly and frames
/// queued for the guest. Without it a guest reaches 1024 flows x 1 MiB = 1 GiB per netdev.
/// Thread-safe (the output queue releases from the sending thread, outside the stack's lock).
/// </summary>
/// <remarks>
/// The budget is shared out by kind so that one kind cannot starve the others: full-size flow
/// buffers may fill half of it, small flow buffers three quarters, and reassembly and queued
/// output all of it. A guest that filled the budget with bulk flows can therefore still open many
/// interactive ones (with small windows), and its flows' segments can still be queued.
/// </remarks>
public sealed class MemoryBudget
{
    private long _used;
    private long _refusals;
    private long _peak;
    private int _reported;

    public MemoryBudget(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
    }

    /// <summary>The configured limit in bytes.</summary>
    public long Limit { get; }

    /// <summary>Bytes held now.</summary>
    public long Used => Volatile.Read(ref _used);

    /// <summary>The highest <see cref="Used"/> seen (for tests and diagnostics).</summary>
    public long Peak => Volatile.Read(ref _peak);

    /// <summary>Reservations refused because the budget (or the share of their kind) was used up.</summary>
    public long Refusals => Volatile.Read(ref _refusals);

    /// <summary>Called once, at the first refusal (the owner logs it).</summary>
    public Action? FirstRefusal { get; set; }

    /// <summary>The share of <see cref="Limit"/> a kind of use may fill.</summary>
    public long Ceiling(MemoryUse use) => use switch
    {
        MemoryUse.FullFlow => Limit / 2,
        MemoryUse.SmallFlow => Limit / 4 * 3,
        _ => Limit,
    };

    /// <summary>Whether <paramref name="bytes"/> more would fit the share of <paramref name="use"/>; does not count a refusal.</summary>
    public bool Fits(long bytes, MemoryUse use) => Used + bytes <= Ceiling(use);

    /// <summary>Reserves <paramref name="bytes"/>; false (counted) when they do not fit the share of <paramref name="use"/>.</summary>
    public bool TryReserve(long bytes, MemoryUse use)
    {
        var ceiling = Ceiling(use);
        var used = Volatile.Read(ref _used);
        while (true)
        {
            if (used + bytes > ceiling)
            {
                Refuse();
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _used, used + bytes, used);
            if (seen == used)
            {
                break;
            }

            used = seen;
        }

        var total = used + bytes;
        var peak = Volatile.Read(ref _peak);
        while (total > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peak, total, peak);
            if (seen == peak)
            {
                break;
            }

            peak = seen;
        }

        return true;
    }

    /// <summary>Gives back bytes reserved with <see cref="TryReserve"/>.</summary>
    public void Release(long bytes)
    {
        var left = Interlocked.Add(ref _used, -bytes);
        System.Diagnostics.Debug.Assert(left >= 0, "memory budget released more than reserved");
    }

    private void Refuse()
    {
        Interlocked.Increment(ref _refusals);
        if (Interlocked.Exchange(ref _reported, 1) == 0)
        {
            FirstRefusal?.Invoke();
        }
    }
}

/// <summary>What a reservation is for (see <see cref="MemoryBudget.Ceiling"/>).</summary>
public enum MemoryUse
{
    /// <summary>A new TCP flow's buffers at full size (fast windows).</summary>
    FullFlow,

    /// <summary>A new TCP flow's buffers at the minimum size, once full-size ones no longer fit.</summary>
    SmallFlow,

    /// <summary>IPv4 reassembly and frames queued for the guest: short-lived, bounded in count elsewhere.</summary>
    Transient,
}
