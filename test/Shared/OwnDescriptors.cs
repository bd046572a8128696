namespace Netdevd.Tests.Shared;

/// <summary>
/// Tests that check what this process's descriptors became: no other test may open any
/// meanwhile. Descriptors that others close meanwhile (a finalizer, a child process's pipes after
/// it exited) do not matter: the checks name descriptors, they do not count them.
/// </summary>
[CollectionDefinition(nameof(DescriptorCounting), DisableParallelization = true)]
public sealed class DescriptorCounting;

/// <summary>
/// This test process's open descriptors at one moment, each as its number and what it refers to
/// (<c>socket:[inode]</c>, <c>pipe:[inode]</c>, <c>anon_inode:[eventpoll]</c>, a path), for leak
/// checks: a descriptor is the same one later if both its number and its target are.
/// </summary>
internal sealed class OwnDescriptors
{
    private readonly Dictionary<int, string> _open;

    private OwnDescriptors(Dictionary<int, string> open) => _open = open;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The open descriptors but the runtime's assembly files (the runtime opens one whenever a
    /// test first reaches code of an assembly not loaded yet: an exception type, a collection;
    /// no leak of the code under test) and the listing's own.
    /// </summary>
    public static OwnDescriptors Take()
    {
        var listing = $"/proc/{Environment.ProcessId}/fd";
        var open = new Dictionary<int, string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                // Closed while listed.
                continue;
            }

            if (target is not null && target != listing && !target.EndsWith(".dll", StringComparison.Ordinal) && int.TryParse(Path.GetFileName(entry), out var fd))
            {
                open[fd] = target;
            }
        }

        return new OwnDescriptors(open);
    }

    /// <summary>
    /// The descriptors once they have held still for 200 ms (at most 5 s of waiting): what the
    /// code opens on its own threads after a step (a pool topped up) is in, the runner's passing
    /// files are out.
    /// </summary>
    public static async Task<OwnDescriptors> SettledAsync()
    {
        var last = Take();
        for (int i = 0, same = 0; i < 100 && same < 4; i++)
        {
            await Task.Delay(50, Ct);
            var now = Take();
            same = now.SameAs(last) ? same + 1 : 0;
            last = now;
        }

        return last;
    }

    /// <summary>What <paramref name="fd"/> refers to in this snapshot, or null when it was not open.</summary>
    public string? TargetOf(int fd) => _open.GetValueOrDefault(fd);

    /// <summary>
    /// What is still open of what the code under test should have closed by now: every
    /// descriptor opened since <paramref name="before"/>, and those of <paramref name="handedOver"/>
    /// (open in <paramref name="before"/>, given to the code to close). Waits up to 5 s for them to
    /// go (a thread of the code may still be closing); empty when all did, else each as
    /// "number -> target" for the failure's message.
    /// </summary>
    public static async Task<IReadOnlyList<string>> LeftOpenAsync(OwnDescriptors before, params IEnumerable<int> handedOver)
    {
        var mustClose = handedOver.Select(fd => (fd, before.TargetOf(fd) ?? throw new ArgumentException($"descriptor {fd} was not open before", nameof(handedOver)))).ToList();
        List<string> left = [];
        for (var i = 0; i < 100; i++)
        {
            var now = Take();
            left = [
                .. now.OpenedSince(before),
                .. mustClose.Where(e => now.TargetOf(e.fd) == e.Item2).Select(e => $"{e.fd} -> {e.Item2} (handed over)"),
            ];
            if (left.Count == 0)
            {
                break;
            }

            await Task.Delay(50, Ct);
        }

        return left;
    }

    /// <summary>The descriptors of this snapshot that <paramref name="before"/> did not have, each as "number -> target".</summary>
    public IReadOnlyList<string> OpenedSince(OwnDescriptors before) =>
        [.. _open.Where(e => before.TargetOf(e.Key) != e.Value).Select(e => $"{e.Key} -> {e.Value}")];

    private bool SameAs(OwnDescriptors other) =>
        _open.Count == other._open.Count && _open.All(e => other.TargetOf(e.Key) == e.Value);
}
