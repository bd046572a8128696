using Netdevd.Backends.Io;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The short scheduler slice of idle reads (<see cref="IdleReadSlice"/>): what
/// NETDEVD_IDLE_READ_SLICE_US means; a thread asks for the slice for an idle read only when
/// nothing but its tap woke it since its last one (the echo's case, not a request that a host
/// socket answers), and is back on the default slice once the frame is answered. The tap is one
/// end of a datagram socket pair (<see cref="LoneTap"/>).
/// </summary>
public sealed class IdleReadSliceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>As NETDEVD_IO_SLICE_US's values read (FramePathSliceTests), but unset or empty means the default.</summary>
    [Theory]
    [InlineData(null, IdleReadSlice.DefaultNanoseconds)]
    [InlineData("", IdleReadSlice.DefaultNanoseconds)]
    [InlineData("0", 0)]
    [InlineData("250", 250_000)]
    [InlineData("off", 0)]
    public void The_variable_gives_the_slice_in_microseconds_unset_the_default_anything_else_none(string? value, long nanoseconds) =>
        Assert.Equal(nanoseconds, IdleReadSlice.Parse(value));

    [Theory]
    [InlineData(50_000, 100_000)]
    [InlineData(100_000, 100_000)]
    [InlineData(300_000, 300_000)]
    public void A_switch_starts_on_the_default_slice_and_shortens_to_what_the_kernel_makes_of_the_short_one(long asked, long kept)
    {
        FramePathSliceTests.SkipUnlessKernelKeepsSlices();
        var (plain, made, atStart, shortened, restored) = FramePathSliceTests.OnNewThread(() =>
        {
            var before = Libc.GetOwnSchedulerSlice();
            var slice = SchedulerSliceSwitch.ForCurrentThread(asked);
            var start = Libc.GetOwnSchedulerSlice();
            slice?.Shorten();
            var shorter = Libc.GetOwnSchedulerSlice();
            slice?.Restore();
            return (before, slice is not null, start, shorter, Libc.GetOwnSchedulerSlice());
        });

        // Below 0.1 ms Linux raises the slice to 0.1 ms: still a switch, not one refused.
        Assert.True(made, "no switch for the calling thread");
        Assert.Equal(plain, atStart);
        Assert.Equal(kept, shortened);
        Assert.Equal(plain, restored);
    }

    [Fact]
    public void A_thread_made_idle_after_its_switch_was_made_stays_idle_through_the_switch()
    {
        FramePathSliceTests.SkipUnlessKernelKeepsSlices();
        var (made, policy) = FramePathSliceTests.OnNewThread(() =>
        {
            var slice = SchedulerSliceSwitch.ForCurrentThread(100_000);
            var tid = ThreadProc.CurrentId().ToString(System.Globalization.CultureInfo.InvariantCulture);

            // As an administrator's `chrt -a --idle -p 0 PID` would, while netdevd runs.
            FramePathSliceTests.Run("chrt", "--idle", "-p", "0", tid);
            slice?.Shorten();
            slice?.Restore();
            return (slice is not null, FramePathSliceTests.Run("chrt", "-p", tid));
        });
        Assert.True(made, "no switch for the calling thread");
        Assert.Contains("SCHED_IDLE", policy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_thread_that_answered_its_taps_frames_by_itself_reads_idle_with_the_short_slice_and_works_with_the_default()
    {
        SkipUnlessSliceIsTheDefaults();
        var plain = FramePathSliceTests.OnNewThread(Libc.GetOwnSchedulerSlice);
        var pool = new IoThreadPool(1, "irs-a");
        await using var tap = new LoneTap(pool, "irsa0");
        var thread = pool.Place()!;
        var seen = new System.Collections.Concurrent.ConcurrentQueue<long>();
        thread.BeforeIdleRead = () => seen.Enqueue(Libc.GetOwnSchedulerSlice());
        Assert.Equal([0], await tap.EchoAsync(0));
        for (byte i = 1; i <= 5; i++)
        {
            Assert.True(SpinWait.SpinUntil(() => thread.InIdleRead, Patience), "the thread never read idle");
            Assert.Equal([i], await tap.EchoAsync(i));
        }

        // The first idle read follows the thread's start (nothing known yet); every later one a
        // wake-up that only the tap's frame made. Outside the read, the thread has its default.
        thread.BeforeIdleRead = null;
        Assert.Equal(plain, await SliceOnAsync(thread));
        Assert.Equal(plain, seen.First());
        Assert.All(seen.Skip(1).Take(4), slice => Assert.Equal(IdleReadSlice.DefaultNanoseconds, slice));
        Assert.True(thread.IdleReadsShortened >= 4, $"{thread.IdleReadsShortened} idle reads with the short slice");
    }

    [Fact]
    public async Task After_other_work_woke_the_thread_its_next_idle_read_keeps_the_default_slice()
    {
        SkipUnlessSliceIsTheDefaults();
        var plain = FramePathSliceTests.OnNewThread(Libc.GetOwnSchedulerSlice);
        var pool = new IoThreadPool(1, "irs-b");
        await using var tap = new LoneTap(pool, "irsb0");
        using var other = new EventTarget(pool);
        var thread = pool.Place()!;
        var seen = new System.Collections.Concurrent.ConcurrentQueue<long>();
        thread.BeforeIdleRead = () => seen.Enqueue(Libc.GetOwnSchedulerSlice());
        Assert.Equal([0], await tap.EchoAsync(0));
        Assert.Equal([1], await tap.EchoAsync(1));
        Assert.True(SpinWait.SpinUntil(() => seen.Count == 2 && thread.InIdleRead, Patience), "the thread did not read idle a second time");

        // Another loop (what a host socket is to the user netdev's frames) wakes the thread; its
        // next wait is in epoll, ended by the tap's frame, and the idle read after that is made
        // with the default slice. One more frame answered with nothing else, and it is short again.
        other.Signal();
        Assert.True(SpinWait.SpinUntil(() => other.Calls == 1, Patience), "the other loop was not served");
        Assert.Equal([2], await tap.EchoAsync(2));
        Assert.True(SpinWait.SpinUntil(() => seen.Count == 3 && thread.InIdleRead, Patience), "the thread did not read idle after the other loop's wake-up");
        Assert.Equal([3], await tap.EchoAsync(3));
        Assert.True(SpinWait.SpinUntil(() => seen.Count == 4 && thread.InIdleRead, Patience), "the thread did not read idle again");
        thread.BeforeIdleRead = null;
        Assert.Equal([plain, IdleReadSlice.DefaultNanoseconds, plain, IdleReadSlice.DefaultNanoseconds], seen.Take(4));
    }

    /// <summary>The slice of <paramref name="thread"/> as an action posted to it sees it.</summary>
    private static async Task<long> SliceOnAsync(IoThread thread)
    {
        var slice = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.True(thread.TryPost(() => slice.SetResult(Libc.GetOwnSchedulerSlice())));
        return await slice.Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
    }

    private static void SkipUnlessSliceIsTheDefaults()
    {
        FramePathSliceTests.SkipUnlessKernelKeepsSlices();
        Assert.SkipWhen(Environment.GetEnvironmentVariable(IdleReadSlice.Variable) is { Length: > 0 }, $"{IdleReadSlice.Variable} is set for this test run");
        Assert.SkipWhen(FramePathSlice.Asked, $"{FramePathSlice.Variable} gives the I/O threads a slice of their own in this test run");
    }
}
