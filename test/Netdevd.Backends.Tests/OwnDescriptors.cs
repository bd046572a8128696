namespace Netdevd.Backends.Tests;

/// <summary>Tests that count this process's descriptors: nothing else may open or close any meanwhile.</summary>
[CollectionDefinition(nameof(DescriptorCounting), DisableParallelization = true)]
public sealed class DescriptorCounting;

/// <summary>This test process's open descriptors, for leak checks (run them in <see cref="DescriptorCounting"/>).</summary>
internal static class OwnDescriptors
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static int Count() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>The count once it has held still for a while (the runner opens and closes files of its own now and then).</summary>
    public static async Task<int> StableCountAsync()
    {
        var last = Count();
        for (int i = 0, same = 0; i < 100 && same < 5; i++)
        {
            await Task.Delay(20, Ct);
            var now = Count();
            same = now == last ? same + 1 : 0;
            last = now;
        }

        return last;
    }

    /// <summary>The count once it equals <paramref name="expected"/>, or what it is after 5 s: a leak stays.</summary>
    public static async Task<int> ReachingAsync(int expected)
    {
        var now = Count();
        for (var i = 0; i < 100 && now != expected; i++)
        {
            await Task.Delay(50, Ct);
            now = Count();
        }

        return now;
    }
}
