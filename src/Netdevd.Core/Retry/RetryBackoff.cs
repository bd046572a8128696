namespace Netdevd.Core.Retry;

/// <summary>
/// The wait before trying again something that keeps failing (an accept out of descriptors, a
/// socket stuck in an error): <paramref name="first"/>, doubling while failures go on, at most
/// <paramref name="longest"/>, and back to <paramref name="first"/> after a success
/// (<see cref="Reset"/>). Every listener and socket here paces its retries with it, so none
/// spins and none waits longer than it must once the cause is gone.
/// </summary>
public struct RetryBackoff(TimeSpan first, TimeSpan longest)
{
    private TimeSpan _current;

    /// <summary>
    /// After a failed accept (descriptors or memory ran out, the client waiting in the backlog):
    /// 50 ms doubling to 1 s.
    /// </summary>
    public static RetryBackoff ForAccept() => new(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1));

    /// <summary>Whether a run of failures is going on (<see cref="Next"/> was called since the last <see cref="Reset"/>).</summary>
    public readonly bool Failing => _current != TimeSpan.Zero;

    /// <summary>A failure: the wait before the next try.</summary>
    public TimeSpan Next() =>
        _current = _current == TimeSpan.Zero ? first : TimeSpan.FromTicks(Math.Min(_current.Ticks * 2, longest.Ticks));

    /// <summary>A success: the next failure waits <c>first</c> again.</summary>
    public void Reset() => _current = TimeSpan.Zero;
}
