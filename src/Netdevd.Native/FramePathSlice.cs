using System.Globalization;

namespace Netdevd.Native;

/// <summary>
/// A scheduler slice the threads that move frames may ask for, shorter than the default (0.7 ms
/// times 1 + log2 of the CPUs, 1.4 ms on two). Under Linux's EEVDF scheduler (6.12+) a task with a
/// shorter slice than the one running preempts it when woken, at the running task's next
/// preemption point: a frame's arrival then runs the I/O thread as soon as the sender's system
/// call returns. The share of the CPU stays the fair one; only when it is given changes.
/// <para>Off unless asked for (<c>NETDEVD_IO_SLICE_US</c>, a whole number of microseconds up to
/// 100000; the kernel raises one below 100 to 100). At 0.1 ms, the default of sessions 37-39, it
/// took 3-6 µs off a gateway ping, but put a request and its answer through the NAT 40-90 µs
/// behind slirp4netns, both ways, TCP and UDP, where without it netdevd is level or ahead
/// (bench/README, session 40): the exchanges users feel (a keystroke, an RPC, a DNS query) lost
/// far more than the echo won.</para>
/// </summary>
public static class FramePathSlice
{
    public const string Variable = "NETDEVD_IO_SLICE_US";

    private static readonly long s_configured = Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The slice in nanoseconds for a value of <see cref="Variable"/>: 0 (the kernel's own) when unset, empty, 0 or not a whole number of µs up to 100000.</summary>
    public static long Parse(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var micros) && micros <= 100_000
            ? micros * 1000
            : 0;

    /// <summary>Whether <see cref="Variable"/> asked for a slice (the I/O threads then keep it throughout, see <see cref="IdleReadSlice"/>).</summary>
    public static bool Asked => s_configured != 0;

    /// <summary>Asks for the configured slice for the calling thread (none when it is 0): 0, or -errno (a hint the caller may ignore).</summary>
    public static int ApplyToCurrentThread() => s_configured == 0 ? 0 : Libc.SetOwnSchedulerSlice(s_configured);
}
