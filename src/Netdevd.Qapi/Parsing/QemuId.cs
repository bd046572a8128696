namespace Netdevd.Qapi.Parsing;

/// <summary>QEMU's id_wellformed: an ASCII letter, then ASCII letters, digits, '-', '.' or '_'.</summary>
public static class QemuId
{
    public const string Hint = "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

    public static bool IsWellFormed(string id)
    {
        if (id.Length == 0 || !char.IsAsciiLetter(id[0]))
        {
            return false;
        }

        for (var i = 1; i < id.Length; i++)
        {
            var c = id[i];
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '.' && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
