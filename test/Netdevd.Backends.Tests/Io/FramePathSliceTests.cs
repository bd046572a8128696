using System.Diagnostics;
using Netdevd.Backends.Io;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The scheduler slice the frame-moving threads may ask for (FramePathSlice): what NETDEVD_IO_SLICE_US
/// means, that an I/O thread asks for none unless told to, that asking for one keeps a thread's nice
/// value, and that a thread someone made idle stays idle.
/// </summary>
public sealed class FramePathSliceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(null, 0)]
    [InlineData("", 0)]
    [InlineData("0", 0)]
    [InlineData("100", 100_000)]
    [InlineData("250", 250_000)]
    [InlineData("100000", 100_000_000)]
    [InlineData("100001", 0)]
    [InlineData("-5", 0)]
    [InlineData(" 50", 0)]
    [InlineData("1e3", 0)]
    [InlineData("fast", 0)]
    [InlineData("99999999999999999999999", 0)]
    public void The_variable_gives_the_slice_in_microseconds_and_anything_else_none(string? value, long nanoseconds) =>
        Assert.Equal(nanoseconds, FramePathSlice.Parse(value));

    [Fact]
    public void An_io_thread_keeps_the_kernels_slice_unless_one_is_asked_for()
    {
        SkipUnlessKernelKeepsSlices();
        Assert.SkipWhen(Environment.GetEnvironmentVariable(FramePathSlice.Variable) is { Length: > 0 }, $"{FramePathSlice.Variable} is set for this test run");
        var pool = new IoThreadPool(1, "slice");
        long seen = -1;
        using var ran = new ManualResetEventSlim();
        using (var target = new EventTarget(pool))
        {
            target.Loop.Post(() =>
            {
                seen = Libc.GetOwnSchedulerSlice();
                ran.Set();
            });
            Assert.True(ran.Wait(Patience), "the posted action did not run on the I/O thread");
        }

        // The slice of a thread that asked for none, taken on a new thread of this process.
        var plain = OnNewThread(Libc.GetOwnSchedulerSlice);
        Assert.Equal(plain, seen);
    }

    [Fact]
    public void Asking_for_a_slice_keeps_the_threads_nice_value()
    {
        SkipUnlessKernelKeepsSlices();
        var (result, nice, slice) = OnNewThread(() =>
        {
            // Nice is per thread on Linux: renice takes the thread's id.
            Renice(ThreadProc.CurrentId(), 7);
            Assert.Equal(7, ThisThreadNice());
            var r = Libc.SetOwnSchedulerSlice(200_000);
            return (r, ThisThreadNice(), Libc.GetOwnSchedulerSlice());
        });
        Assert.Equal(0, result);
        Assert.Equal(7, nice);
        Assert.Equal(200_000, slice);
    }

    [Fact]
    public void A_thread_made_idle_keeps_its_policy_and_gets_no_slice()
    {
        var (result, policy, before, after) = OnNewThread(() =>
        {
            var tid = ThreadProc.CurrentId();
            Run("chrt", "--idle", "-p", "0", tid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var sliceBefore = Libc.GetOwnSchedulerSlice();
            var r = Libc.SetOwnSchedulerSlice(200_000);
            return (r, Run("chrt", "-p", tid.ToString(System.Globalization.CultureInfo.InvariantCulture)), sliceBefore, Libc.GetOwnSchedulerSlice());
        });
        Assert.Equal(0, result);
        Assert.Contains("SCHED_IDLE", policy, StringComparison.Ordinal);
        Assert.Equal(before, after);
        Assert.NotEqual(200_000, after);
    }

    /// <summary>Kernels before 6.12 accept sched_runtime for a fair task and keep nothing: nothing to check there.</summary>
    internal static void SkipUnlessKernelKeepsSlices()
    {
        var kept = OnNewThread(() => Libc.SetOwnSchedulerSlice(300_000) == 0 && Libc.GetOwnSchedulerSlice() == 300_000);
        Assert.SkipUnless(kept, "this kernel keeps no custom scheduler slice for a fair task (EEVDF's custom slices came with Linux 6.12)");
    }

    internal static T OnNewThread<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new InvalidOperationException("the thread failed", failure);
    }

    /// <summary>The calling thread's nice value: field 19 of its stat file.</summary>
    private static int ThisThreadNice() =>
        int.Parse(ThreadProc.StatFields("/proc/thread-self/stat")[16], System.Globalization.CultureInfo.InvariantCulture);

    private static void Renice(int threadId, int nice) =>
        Run("renice", "-n", nice.ToString(System.Globalization.CultureInfo.InvariantCulture), "-p", threadId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Runs a util-linux tool on a thread of this process; its output, or a failure naming what it said.</summary>
    internal static string Run(string tool, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: exit {process.ExitCode}: {error}");
        return output;
    }
}
