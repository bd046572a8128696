namespace Netdevd.Backends.Tests;

/// <summary>Tests that count this process's descriptors: nothing else may open or close any meanwhile.</summary>
[CollectionDefinition(nameof(DescriptorCounting), DisableParallelization = true)]
public sealed class DescriptorCounting;

/// <summary>This test process's open descriptors, for leak checks (run them in <see cref="DescriptorCounting"/>).</summary>
internal static class OwnDescriptors
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The open descriptors but the runtime's assembly files: the runtime opens one whenever a
    /// test first reaches code of an assembly not loaded yet (an exception type, a collection),
    /// which is no leak of the code under test.
    /// </summary>
    public static int Count()
    {
        var count = 0;
        foreach (var fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                // Closed while listed (the directory's own descriptor, say).
                continue;
            }

            if (target is null || !target.EndsWith(".dll", StringComparison.Ordinal))
            {
                count++;
            }
        }

        return count;
    }

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
