namespace Netdevd.Backends.Sockets;

/// <summary>
/// QEMU's qemu_strtol(str, &amp;end, 0, &amp;value) as convert_host_port calls it: C strtol with
/// base 0 (0x.. hex, 0.. octal, else decimal), leading white space and a sign allowed, text after
/// the number ignored (an end pointer is passed), no digits or a value outside a 64-bit long
/// is an error.
/// </summary>
internal static class CStrtol
{
    public static bool TryParse(string text, out long value) => TryParse(text, 0, out value, out _);

    /// <summary>strtol with <paramref name="radix"/> 0 (auto) or 10; <paramref name="end"/> is where parsing stopped.</summary>
    public static bool TryParse(string text, int radix, out long value, out int end)
    {
        value = 0;
        end = 0;
        var i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        var negative = false;
        if (i < text.Length && text[i] is '+' or '-')
        {
            negative = text[i] == '-';
            i++;
        }

        if (radix == 0 && i < text.Length && text[i] == '0')
        {
            if (i + 2 < text.Length && text[i + 1] is 'x' or 'X' && char.IsAsciiHexDigit(text[i + 2]))
            {
                radix = 16;
                i += 2;
            }
            else
            {
                radix = 8;
            }
        }
        else if (radix == 0)
        {
            radix = 10;
        }

        // Accumulate the magnitude as unsigned so that LONG_MIN itself fits.
        ulong magnitude = 0;
        var digits = 0;
        var overflow = false;
        for (; i < text.Length; i++)
        {
            var d = DigitValue(text[i]);
            if (d < 0 || d >= radix)
            {
                break;
            }

            digits++;
            if (magnitude > (ulong.MaxValue - (ulong)d) / (ulong)radix)
            {
                overflow = true;
            }
            else
            {
                magnitude = (magnitude * (ulong)radix) + (ulong)d;
            }
        }

        if (digits == 0)
        {
            return false;
        }

        end = i;

        var limit = negative ? (ulong)long.MaxValue + 1 : long.MaxValue;
        if (overflow || magnitude > limit)
        {
            return false;
        }

        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        return true;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'z' => c - 'a' + 10,
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => -1,
    };
}
