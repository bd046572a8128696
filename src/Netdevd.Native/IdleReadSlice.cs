namespace Netdevd.Native;

/// <summary>
/// The scheduler slice an I/O thread asks for while it waits in an idle read for a tap whose
/// frames it answered by itself (a ping of the gateway, ARP, NDP): with a slice shorter than the
/// running task's, the thread woken by the tap's frame preempts the sender (Linux 6.12+'s EEVDF)
/// and answers before the sender has gone to sleep; the thread is back on the default slice as soon as
/// the frame is answered. Measured beside slirp4netns (bench/README, session 41): 4-5.5 µs off
/// a gateway ping after idling; asked for on every idle read, it put a request through the NAT
/// 20-30 µs behind (the thread preempting the sender of a request that a host socket answers),
/// which is why a thread asks for it only when nothing but its tap woke it since its last idle
/// read (IoThread).
/// <para><c>NETDEVD_IDLE_READ_SLICE_US</c>: a whole number of microseconds up to 100000 (the
/// kernel raises one below 100 to 100); 0 or anything else turns it off; unset or empty, 100.
/// Not used when <see cref="FramePathSlice"/> gives the threads a slice of their own.</para>
/// </summary>
public static class IdleReadSlice
{
    public const string Variable = "NETDEVD_IDLE_READ_SLICE_US";

    /// <summary>The slice when <see cref="Variable"/> is unset: the kernel's shortest.</summary>
    public const long DefaultNanoseconds = 100_000;

    /// <summary>The configured slice in nanoseconds (0: off).</summary>
    public static long Configured { get; } = Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The slice in nanoseconds for a value of <see cref="Variable"/>: the default when unset or empty, else as <see cref="FramePathSlice.Parse"/> reads one (0, off, when 0 or not a whole number of µs up to 100000).</summary>
    public static long Parse(string? value) => string.IsNullOrEmpty(value) ? DefaultNanoseconds : FramePathSlice.Parse(value);
}
