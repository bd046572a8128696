namespace Netdevd.Native;

/// <summary>The kernel's transparent huge pages, as <see cref="FramePathHugePage"/> uses them.</summary>
public static class TransparentHugePages
{
    /// <summary>A PMD-mapped huge page on x86-64.</summary>
    public const long Size = 2 * 1024 * 1024;

    private const string EnabledFile = "/sys/kernel/mm/transparent_hugepage/enabled";

    private const string PmdSizeFile = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";

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

        if (setting.Contains("[never]", StringComparison.Ordinal))
        {
            why = "transparent huge pages are off ([never] in " + EnabledFile + ")";
            return false;
        }

        // An arm64 kernel with 16 or 64 KiB pages has 32 or 512 MiB ones, which a 2 MiB range is not.
        var size = ReadOrEmpty(PmdSizeFile).Trim();
        why = size.Length == 0 || size == Size.ToString(System.Globalization.CultureInfo.InvariantCulture) ? "" : "this kernel's huge pages are " + size + " bytes, not 2 MiB";
        return why.Length == 0;
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
