using System.Diagnostics;
using Netdevd.Native;

namespace Netdevd.Backends.Tests.Io;

/// <summary>
/// The timer a user netdev's I/O thread waits on with its sockets (a timerfd): readable at its
/// deadline and not before, each arming replacing the last, a due time of zero or less at once.
/// </summary>
public sealed class DeadlineTimerTests
{
    [Fact]
    public void An_armed_timer_becomes_readable_at_its_deadline_and_its_expiry_is_taken_once()
    {
        using var timer = new DeadlineTimer();
        Assert.False(Readable(timer, 0));
        Assert.False(timer.Consume());

        var clock = Stopwatch.StartNew();
        timer.Arm(50);
        Assert.True(Readable(timer, 5000));
        Assert.True(clock.ElapsedMilliseconds >= 45, $"expired after {clock.ElapsedMilliseconds} ms of 50");

        Assert.True(timer.Consume());
        Assert.False(timer.Consume());
        Assert.False(Readable(timer, 0));
    }

    [Fact]
    public void An_earlier_arming_replaces_a_later_one()
    {
        using var timer = new DeadlineTimer();
        timer.Arm(60_000);
        timer.Arm(20);
        Assert.True(Readable(timer, 5000));
    }

    [Fact]
    public void A_later_arming_replaces_an_earlier_one()
    {
        using var timer = new DeadlineTimer();
        timer.Arm(20);
        timer.Arm(60_000);
        Assert.False(Readable(timer, 300));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-5L)]
    public void A_due_time_of_zero_or_less_expires_at_once(long dueMs)
    {
        using var timer = new DeadlineTimer();
        timer.Arm(dueMs);
        Assert.True(Readable(timer, 1000));
        Assert.True(timer.Consume());
    }

    [Fact]
    public void A_due_time_beyond_the_clock_range_arms_without_overflow()
    {
        using var timer = new DeadlineTimer();
        timer.Arm(long.MaxValue);
        Assert.False(Readable(timer, 50));
    }

    [Fact]
    public void Disposed_it_ignores_arming_and_a_second_dispose()
    {
        // Armed after its close, a timer would set whatever file took its number since (or throw
        // EBADF into the stack's lock); closed twice, it could close another test's descriptor.
        var timer = new DeadlineTimer();
        timer.Dispose();
        var armed = Record.Exception(() => timer.Arm(10));
        var disposed = Record.Exception(timer.Dispose);
        Assert.Null(armed);
        Assert.Null(disposed);
    }

    private static bool Readable(DeadlineTimer timer, int timeoutMs)
    {
        Span<PollFd> polled = [new PollFd { Fd = timer.Fd, Events = Libc.POLLIN }];
        return Libc.Poll(polled, timeoutMs) == 1 && (polled[0].Revents & Libc.POLLIN) != 0;
    }
}
