namespace Netdevd.Native;

/// <summary>The kernel's transparent huge pages, as <see cref="FramePathHugePage"/> uses them.</summary>
public static class TransparentHugePages
{
    /// <summary>A PMD-mapped huge page on x86-64.</summary>
    public const long Size = 2 * 1024 * 1024;

    private const string EnabledFile = "/sys/kernel/mm/transparent_hugepage/enabled";

    /// <summary>Whether the kernel gives huge pages to memory that asks (THP "always" or "madvise"); else why not.</summary>
    public static bool AreOffered(out string why)
    {
        string setting;
        try
        {
            setting = File.ReadAllText(EnabledFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = "the kernel has no transparent huge pages (" + EnabledFile + ": " + e.Message + ")";
            return false;
        }

        why = setting.Contains("[never]", StringComparison.Ordinal) ? "transparent huge pages are off ([never] in " + EnabledFile + ")" : "";
        return why.Length == 0;
    }
}
