using System.Diagnostics;

namespace Netdevd.Core.Retry;

/// <summary>
/// Waits as long as a user asks. Reconnect delays come from monitors and command lines: a stream
/// netdev's <c>reconnect</c> is up to 2^32-1 seconds (136 years), a socket chardev's any int64 of
/// seconds or milliseconds, which QEMU hands to GLib. .NET's waits stop short of that: a timer or
/// <see cref="Task.Delay(TimeSpan, CancellationToken)"/> takes at most 2^32-2 ms (49.7 days) and
/// <see cref="WaitHandle.WaitOne(TimeSpan)"/> 2^31-1 ms (24.8 days), and throw beyond; a
/// <see cref="TimeSpan"/> ends at 29,000 years. Thrown on a netdev's own thread, that exception
/// ended the process. Here a longer wait is made of several, and a delay longer than a
/// <see cref="TimeSpan"/> holds is <see cref="TimeSpan.MaxValue"/>.
/// </summary>
public static class LongWait
{
    /// <summary>The longest single wait a timer or <see cref="Task.Delay(TimeSpan, CancellationToken)"/> takes.</summary>
    public static readonly TimeSpan TimerLimit = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private static readonly TimeSpan s_waitHandleLimit = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary><paramref name="seconds"/> as a <see cref="TimeSpan"/>; <see cref="TimeSpan.MaxValue"/> past what one holds.</summary>
    public static TimeSpan FromSeconds(long seconds) =>
        seconds > TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerSecond ? TimeSpan.MaxValue : TimeSpan.FromTicks(seconds * TimeSpan.TicksPerSecond);

    /// <summary><paramref name="milliseconds"/> as a <see cref="TimeSpan"/>; <see cref="TimeSpan.MaxValue"/> past what one holds.</summary>
    public static TimeSpan FromMilliseconds(long milliseconds) =>
        milliseconds > TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMillisecond ? TimeSpan.MaxValue : TimeSpan.FromTicks(milliseconds * TimeSpan.TicksPerMillisecond);

    /// <summary>What a timer can be armed for now of a wait with <paramref name="left"/> to go (arm again when it fires).</summary>
    public static TimeSpan TimerPiece(TimeSpan left) => left > TimerLimit ? TimerLimit : left;

    /// <summary>
    /// <see cref="WaitHandle.WaitOne(TimeSpan)"/> for any <paramref name="wait"/>: true when
    /// <paramref name="handle"/> was signalled, false when the whole wait went by.
    /// </summary>
    public static bool WaitOne(WaitHandle handle, TimeSpan wait)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            var left = wait - Stopwatch.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            if (handle.WaitOne(left > s_waitHandleLimit ? s_waitHandleLimit : left))
            {
                return true;
            }
        }
    }

    /// <summary><see cref="Task.Delay(TimeSpan, CancellationToken)"/> for any <paramref name="wait"/>.</summary>
    public static async Task DelayAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            var left = wait - Stopwatch.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(TimerPiece(left), cancellationToken).ConfigureAwait(false);
        }
    }
}
