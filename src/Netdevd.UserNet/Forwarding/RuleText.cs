namespace Netdevd.UserNet.Forwarding;

/// <summary>QEMU's get_str_sep: the text up to the next separator, and the rest after it.</summary>
internal static class RuleText
{
    /// <summary>Cuts <paramref name="rest"/> at <paramref name="separator"/>; false (nothing changed) when it has none.</summary>
    public static bool TryCut(ref string rest, char separator, out string field)
    {
        var i = rest.IndexOf(separator, StringComparison.Ordinal);
        if (i < 0)
        {
            field = "";
            return false;
        }

        field = rest[..i];
        rest = rest[(i + 1)..];
        return true;
    }
}
