using Microsoft.Extensions.Time.Testing;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>A fake clock that counts how often the timers made from it fire (wake-ups, not time).</summary>
internal sealed class CountingTimeProvider : TimeProvider
{
    private long _fired;

    public FakeTimeProvider Fake { get; } = new();

    public long Fired => Interlocked.Read(ref _fired);

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        Fake.CreateTimer(
            s =>
            {
                Interlocked.Increment(ref _fired);
                callback(s);
            },
            state,
            dueTime,
            period);
}
