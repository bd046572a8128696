using System.Globalization;

namespace Netdevd.Native;

/// <summary>One line of /proc/self/maps: the range, its permissions ("r-xp"), where it starts in its file, and whether it has none.</summary>
public readonly record struct SelfMapping(long Start, long End, string Permissions, long FileOffset, bool Anonymous)
{
    public long Length => End - Start;
}

/// <summary>Reads this process's memory map (/proc/self/maps).</summary>
public static class SelfMappings
{
    /// <summary>The mapping that holds <paramref name="address"/>; false when none does or the map cannot be read.</summary>
    public static bool TryFind(long address, out SelfMapping mapping)
    {
        mapping = default;
        IEnumerable<string> lines;
        try
        {
            lines = File.ReadLines("/proc/self/maps");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        foreach (var line in lines)
        {
            if (TryParse(line, out var m) && m.Start <= address && address < m.End)
            {
                mapping = m;
                return true;
            }
        }

        return false;
    }

    /// <summary>"lo-hi perms offset dev inode [path]"; false for a line that is not that.</summary>
    public static bool TryParse(string line, out SelfMapping mapping)
    {
        mapping = default;
        var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5)
        {
            return false;
        }

        var range = fields[0].Split('-');
        if (range.Length != 2
            || !long.TryParse(range[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(range[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end)
            || !long.TryParse(fields[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var offset)
            || fields[1].Length != 4 || end <= start)
        {
            return false;
        }

        // A file's mapping names its inode; an anonymous one has inode 0 and no path (or a
        // bracketed name such as [heap] or [stack]).
        var anonymous = fields[4] == "0";
        mapping = new SelfMapping(start, end, fields[1], offset, anonymous);
        return true;
    }
}
