using Netdevd.Fuzz;

namespace Netdevd.Fuzz.Tests;

/// <summary>
/// Replays every file of fuzz/corpus/TARGET/ and fuzz/regressions/TARGET/ through its harness,
/// deterministically and without AFL: a harness lets an exception escape exactly when the input
/// found a bug, so each file must pass. fuzz/regressions/pending.txt names files whose fix lives
/// on another branch; they are skipped with that reason until the line is removed.
/// </summary>
public sealed class CorpusReplayTests
{
    private static readonly string s_fuzzDir = FindFuzzDir();

    public static TheoryData<string, string> Files()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "corpus", "regressions" })
        {
            var root = Path.Combine(s_fuzzDir, kind);
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
            {
                foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
                {
                    data.Add(Path.GetFileName(dir), Path.GetRelativePath(s_fuzzDir, file));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void File_passes_its_harness(string target, string file)
    {
        if (Pending().TryGetValue(file.Replace('\\', '/'), out var reason))
        {
            Assert.Skip($"pending another branch's fix: {reason}");
        }

        Assert.True(FuzzTargets.TryGet(target, out var harness), $"no harness named '{target}' (folder {file})");
        harness(File.ReadAllBytes(Path.Combine(s_fuzzDir, file)));
    }

    [Fact]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (var name in FuzzTargets.Names)
        {
            var dir = Path.Combine(s_fuzzDir, "corpus", name);
            Assert.True(Directory.Exists(dir) && Directory.GetFiles(dir).Length > 0, $"fuzz/corpus/{name} is missing or empty");
        }
    }

    [Fact]
    public void Every_corpus_folder_names_a_target()
    {
        foreach (var kind in new[] { "corpus", "regressions" })
        {
            var root = Path.Combine(s_fuzzDir, kind);
            foreach (var dir in Directory.Exists(root) ? Directory.GetDirectories(root) : [])
            {
                Assert.True(FuzzTargets.TryGet(Path.GetFileName(dir), out _), $"fuzz/{kind}/{Path.GetFileName(dir)} names no harness");
            }
        }
    }

    /// <summary>fuzz/regressions/pending.txt: "TARGET/FILE reason" per line; '#' starts a comment.</summary>
    private static Dictionary<string, string> Pending()
    {
        var pending = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = Path.Combine(s_fuzzDir, "regressions", "pending.txt");
        if (!File.Exists(path))
        {
            return pending;
        }

        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var file = space < 0 ? line : line[..space];
            pending["regressions/" + file] = space < 0 ? "" : line[(space + 1)..].Trim();
        }

        return pending;
    }

    private static string FindFuzzDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Netdevd.slnx")))
            {
                return Path.Combine(dir.FullName, "fuzz");
            }
        }

        throw new InvalidOperationException("the repository root (Netdevd.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
