namespace Netdevd.Qapi.Parsing;

/// <summary>QEMU's qapi_bool_parse: the words accepted for a boolean given as text.</summary>
public static class QapiBool
{
    public static bool TryParse(string s, out bool value)
    {
        switch (s)
        {
            case "on" or "yes" or "true" or "y":
                value = true;
                return true;
            case "off" or "no" or "false" or "n":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
