namespace Netdevd.Native;

/// <summary>
/// One thread's switch between the kernel's default scheduler slice and a shorter one (one
/// sched_setattr each way, the thread's policy, nice value and reset-on-fork flag kept as they
/// were read once). Used on its own thread only.
/// </summary>
public sealed class SchedulerSliceSwitch
{
    /// <summary>The range Linux clamps a custom slice to (0.1-100 ms).</summary>
    private const long ShortestSlice = 100_000, LongestSlice = 100_000_000;

    private readonly Libc.SchedulerPolicy _policy;
    private readonly long _short;

    private SchedulerSliceSwitch(Libc.SchedulerPolicy policy, long shortNanoseconds)
    {
        _policy = policy;
        _short = shortNanoseconds;
    }

    /// <summary>Whether the short slice is in force.</summary>
    public bool IsShort { get; private set; }

    /// <summary>
    /// A switch for the calling thread, on the default slice; null when the thread's policy is not
    /// a fair one, or the kernel does not keep a custom slice (before 6.12 it takes the call and
    /// ignores it: tried once here, read back, and undone, so that no thread pays two system
    /// calls per idle read for nothing).
    /// </summary>
    public static SchedulerSliceSwitch? ForCurrentThread(long shortNanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shortNanoseconds);
        if (Libc.GetOwnSchedulerPolicy(out var policy) != 0 || !policy.Fair || Libc.SetOwnSchedulerSlice(policy, shortNanoseconds) != 0)
        {
            return null;
        }

        var kept = Libc.GetOwnSchedulerSlice() == Math.Clamp(shortNanoseconds, ShortestSlice, LongestSlice);
        return Libc.SetOwnSchedulerSlice(policy, 0) == 0 && kept ? new SchedulerSliceSwitch(policy, shortNanoseconds) : null;
    }

    /// <summary>Asks for the short slice (nothing when it is in force).</summary>
    public void Shorten()
    {
        if (!IsShort)
        {
            IsShort = Libc.SetOwnSchedulerSlice(_policy, _short) == 0;
        }
    }

    /// <summary>Back to the kernel's default slice (nothing when it is in force).</summary>
    public void Restore()
    {
        if (IsShort)
        {
            IsShort = false;
            _ = Libc.SetOwnSchedulerSlice(_policy, 0);
        }
    }
}
