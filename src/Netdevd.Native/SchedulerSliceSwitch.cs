namespace Netdevd.Native;

/// <summary>
/// One thread's switch between the kernel's default scheduler slice and a shorter one. Each way
/// reads the thread's scheduling first and changes only the slice of a fair thread (as
/// <see cref="Libc.SetOwnSchedulerSlice(long)"/>): a thread someone made real-time or idle, or
/// reniced, after its switch was made stays so. Used on its own thread only.
/// </summary>
public sealed class SchedulerSliceSwitch
{
    /// <summary>The range Linux clamps a custom slice to (0.1-100 ms).</summary>
    private const long ShortestSlice = 100_000, LongestSlice = 100_000_000;

    private readonly long _short;

    private SchedulerSliceSwitch(long shortNanoseconds) => _short = shortNanoseconds;

    /// <summary>Whether the short slice was asked for last.</summary>
    public bool IsShort { get; private set; }

    /// <summary>
    /// A switch for the calling thread, on the default slice; null when the kernel does not keep a
    /// custom slice for it (before 6.12 the kernel takes the call and ignores it; a thread that is
    /// not a fair one is not changed): tried once here, read back, and undone, so that no thread
    /// pays system calls per idle read for nothing.
    /// </summary>
    public static SchedulerSliceSwitch? ForCurrentThread(long shortNanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shortNanoseconds);
        if (Libc.SetOwnSchedulerSlice(shortNanoseconds) != 0)
        {
            return null;
        }

        var kept = Libc.GetOwnSchedulerSlice() == Math.Clamp(shortNanoseconds, ShortestSlice, LongestSlice);
        return Libc.SetOwnSchedulerSlice(0) == 0 && kept ? new SchedulerSliceSwitch(shortNanoseconds) : null;
    }

    /// <summary>Asks for the short slice (nothing when it was asked for last).</summary>
    public void Shorten()
    {
        if (!IsShort)
        {
            IsShort = Libc.SetOwnSchedulerSlice(_short) == 0;
        }
    }

    /// <summary>Back to the kernel's default slice (nothing when the short one was not asked for).</summary>
    public void Restore()
    {
        if (IsShort)
        {
            IsShort = false;
            _ = Libc.SetOwnSchedulerSlice(0);
        }
    }
}
