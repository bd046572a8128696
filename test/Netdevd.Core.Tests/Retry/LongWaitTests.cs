using Netdevd.Core.Retry;

namespace Netdevd.Core.Tests.Retry;

/// <summary>Waits longer than .NET's own take (a user's reconnect delay): made of several, never an exception.</summary>
public sealed class LongWaitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Delays_past_what_a_TimeSpan_holds_are_the_longest_one_and_the_rest_are_exact()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), LongWait.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(uint.MaxValue), LongWait.FromSeconds(uint.MaxValue));
        Assert.Equal(TimeSpan.MaxValue, LongWait.FromSeconds(long.MaxValue));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), LongWait.FromMilliseconds(1500));
        Assert.Equal(TimeSpan.MaxValue, LongWait.FromMilliseconds(long.MaxValue));
    }

    [Fact]
    public void A_timer_is_armed_for_at_most_what_it_takes_and_the_rest_after()
    {
        Assert.Equal(TimeSpan.FromSeconds(3), LongWait.TimerPiece(TimeSpan.FromSeconds(3)));
        Assert.Equal(TimeSpan.FromMilliseconds(uint.MaxValue - 1), LongWait.TimerPiece(TimeSpan.FromSeconds(uint.MaxValue)));

        // What the piece is for: a timer takes it (one longer throws).
        using var timer = TimeProvider.System.CreateTimer(_ => { }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Assert.True(timer.Change(LongWait.TimerPiece(TimeSpan.MaxValue), Timeout.InfiniteTimeSpan));
        Assert.Throws<ArgumentOutOfRangeException>(() => timer.Change(LongWait.TimerLimit + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public async Task A_wait_of_months_on_a_handle_ends_when_the_handle_is_set()
    {
        using var set = new ManualResetEvent(false);
        var waiter = Task.Run(() => LongWait.WaitOne(set, TimeSpan.FromDays(100)), Ct);
        await Task.Delay(50, Ct);
        Assert.False(waiter.IsCompleted);
        set.Set();
        Assert.True(await waiter.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.True(LongWait.WaitOne(set, TimeSpan.MaxValue));
    }

    [Fact]
    public void Short_waits_go_by_as_before()
    {
        using var never = new ManualResetEvent(false);
        Assert.False(LongWait.WaitOne(never, TimeSpan.FromMilliseconds(20)));
        Assert.False(LongWait.WaitOne(never, TimeSpan.Zero));
    }

    [Fact]
    public async Task A_delay_of_months_ends_when_cancelled()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var delay = LongWait.DelayAsync(TimeSpan.FromDays(100), cancel.Token);
        await Task.Delay(50, Ct);
        Assert.False(delay.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delay.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        await LongWait.DelayAsync(TimeSpan.FromMilliseconds(10), Ct);
    }
}
