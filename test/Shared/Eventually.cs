using System.Diagnostics;

namespace Netdevd.Tests.Shared;

/// <summary>
/// Waits for what the code under test does on its own threads (a flow opened, a timer fired):
/// polls the condition every 10 ms and fails, naming what it waited for, once the time is up.
/// </summary>
internal static class Eventually
{
    public static async Task WaitUntilAsync(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.ElapsedMilliseconds < timeoutMs, $"timed out after {timeoutMs} ms waiting until {what}");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}
