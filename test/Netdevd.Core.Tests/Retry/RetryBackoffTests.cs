using Netdevd.Core.Retry;

namespace Netdevd.Core.Tests.Retry;

public sealed class RetryBackoffTests
{
    [Fact]
    public void The_wait_doubles_while_failures_go_on_up_to_the_longest_and_a_success_starts_it_again()
    {
        var backoff = RetryBackoff.ForAccept();
        Assert.False(backoff.Failing);

        var waits = Enumerable.Range(0, 8).Select(_ => backoff.Next().TotalMilliseconds).ToArray();
        Assert.Equal([50, 100, 200, 400, 800, 1000, 1000, 1000], waits);
        Assert.True(backoff.Failing);

        backoff.Reset();
        Assert.False(backoff.Failing);
        Assert.Equal(TimeSpan.FromMilliseconds(50), backoff.Next());
    }
}
