namespace Netdevd.Core.Registry;

/// <summary>QEMU's id_wellformed: an ASCII letter, then letters, digits, '-', '.', '_'.</summary>
public static class NetdevIdentifier
{
    public static bool IsWellFormed(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length == 0 || !char.IsAsciiLetter(id[0]))
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
