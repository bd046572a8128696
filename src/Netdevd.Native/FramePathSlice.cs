using System.Globalization;

namespace Netdevd.Native;

/// <summary>
/// The scheduler slice the threads that move frames ask for: 0.1 ms instead of the default
/// (0.7 ms times 1 + log2 of the CPUs, 1.4 ms on two). Under Linux's EEVDF scheduler (6.12+) a
/// task with a shorter slice than the one running preempts it when woken, at the running task's
/// next preemption point: a frame's arrival then runs the I/O thread as soon as the sender's system
/// call returns, instead of after the sender went on to its own next wait. The share of the CPU
/// stays the fair one; only when it is given changes. A gateway ping after 50 ms idle answered
/// 3-7 µs sooner (bench/README, session 37). <c>NETDEVD_IO_SLICE_US=0</c> leaves the threads at
/// the default; another whole number up to 100000 is the slice in microseconds (the kernel raises
/// one below 100 to 100).
/// </summary>
public static class FramePathSlice
{
    public const string Variable = "NETDEVD_IO_SLICE_US";

    public const long DefaultNanoseconds = 100_000;

    private static readonly long s_configured = Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The slice in nanoseconds for a value of <see cref="Variable"/>: unset, empty or not a whole number of µs gives the default, 0 none.</summary>
    public static long Parse(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var micros) && micros <= 100_000
            ? micros * 1000
            : DefaultNanoseconds;

    /// <summary>Asks for the configured slice for the calling thread (none when it is 0): 0, or -errno (a hint the caller may ignore).</summary>
    public static int ApplyToCurrentThread() => s_configured == 0 ? 0 : Libc.SetOwnSchedulerSlice(s_configured);
}
