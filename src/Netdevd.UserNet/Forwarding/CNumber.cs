namespace Netdevd.UserNet.Forwarding;

/// <summary>
/// QEMU's qemu_strtoi: a C strtol in the given base (0 = C prefixes: 0x hex, 0 octal) that must
/// read at least one digit and fit an int; <paramref name="end"/> is where the number stopped, so
/// callers choose whether trailing text is an error.
/// </summary>
internal static class CNumber
{
    public static bool TryParseInt(string text, int numberBase, out int value, out int end)
    {
        value = 0;
        end = 0;
        var i = 0;
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
        }

        var negative = false;
        if (i < text.Length && (text[i] == '+' || text[i] == '-'))
        {
            negative = text[i] == '-';
            i++;
        }

        if ((numberBase is 0 or 16) && i + 1 < text.Length && text[i] == '0' && (text[i + 1] | 0x20) == 'x' && i + 2 < text.Length && Uri.IsHexDigit(text[i + 2]))
        {
            numberBase = 16;
            i += 2;
        }
        else if (numberBase == 0)
        {
            numberBase = i < text.Length && text[i] == '0' ? 8 : 10;
        }

        var start = i;
        long n = 0;
        var overflow = false;
        while (i < text.Length)
        {
            var c = text[i];
            var d = c is >= '0' and <= '9' ? c - '0' : (c | 0x20) is >= 'a' and <= 'z' ? (c | 0x20) - 'a' + 10 : 99;
            if (d >= numberBase)
            {
                break;
            }

            n = (n * numberBase) + d;
            if (n > (long)int.MaxValue + 1)
            {
                overflow = true;
            }

            i++;
        }

        end = i;
        if (i == start)
        {
            end = 0;
            return false;
        }

        n = negative ? -n : n;
        if (overflow || n > int.MaxValue || n < int.MinValue)
        {
            return false;
        }

        value = (int)n;
        return true;
    }
}
