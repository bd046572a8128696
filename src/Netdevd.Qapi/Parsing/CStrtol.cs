namespace Netdevd.Qapi.Parsing;

/// <summary>
/// C's strtoll/strtoull in the C locale, which QEMU's option parsers build on. Kept
/// byte-for-byte faithful (leading blanks, sign, base 0 prefixes, overflow clamping and
/// where the end pointer lands) because the accepted spellings are user-visible.
/// </summary>
public static class CStrtol
{
    /// <summary>C isspace() in the C locale.</summary>
    public static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary>strtoll: returns the clamped value; <paramref name="end"/> is the index after the number (or <paramref name="start"/> when nothing converted).</summary>
    public static long StrToLL(string s, int start, int radix, out int end, out bool overflow)
    {
        var magnitude = ScanMagnitude(s, start, radix, out end, out var negative, out var tooBig);
        if (negative)
        {
            overflow = tooBig || magnitude > (ulong)long.MaxValue + 1;
            return overflow ? long.MinValue : (long)(0 - magnitude);
        }

        overflow = tooBig || magnitude > long.MaxValue;
        return overflow ? long.MaxValue : (long)magnitude;
    }

    /// <summary>strtoull: a leading '-' negates in uint64 (wraps), as C does; overflow gives UINT64_MAX.</summary>
    public static ulong StrToULL(string s, int start, int radix, out int end, out bool overflow)
    {
        var magnitude = ScanMagnitude(s, start, radix, out end, out var negative, out overflow);
        if (overflow)
        {
            return ulong.MaxValue;
        }

        return negative ? 0 - magnitude : magnitude;
    }

    /// <summary>QEMU's qemu_strtoi64 with a null end pointer: the whole string must convert.</summary>
    public static bool TryQemuStrtoI64(string s, int radix, out long value)
    {
        value = StrToLL(s, 0, radix, out var end, out var overflow);
        return !overflow && end != 0 && end == s.Length;
    }

    /// <summary>QEMU's qemu_strtou64 with a null end pointer (negative input wraps, as strtoull does).</summary>
    public static bool TryQemuStrtoU64(string s, int radix, out ulong value)
    {
        value = StrToULL(s, 0, radix, out var end, out var overflow);
        return !overflow && end != 0 && end == s.Length;
    }

    /// <summary>
    /// QEMU's parse_uint: strtoull that refuses negative numbers. Returns 0, -EINVAL (-22)
    /// when nothing converted, or -ERANGE (-34) on overflow or a minus sign.
    /// </summary>
    public static int ParseUInt(string s, int start, int radix, out ulong value, out int end)
    {
        value = StrToULL(s, start, radix, out end, out var overflow);
        if (overflow)
        {
            return -34;
        }

        if (end == start)
        {
            value = 0;
            return -22;
        }

        var i = start;
        while (i < s.Length && IsSpace(s[i]))
        {
            i++;
        }

        if (i < s.Length && s[i] == '-')
        {
            value = 0;
            return -34;
        }

        return 0;
    }

    /// <summary>QEMU's parse_uint_full: parse_uint that must consume everything.</summary>
    public static int ParseUIntFull(string s, int start, int radix, out ulong value)
    {
        var r = ParseUInt(s, start, radix, out value, out var end);
        if (r == 0 && end != s.Length)
        {
            return -22;
        }

        return r;
    }

    private static ulong ScanMagnitude(string s, int start, int radix, out int end, out bool negative, out bool overflow)
    {
        var i = start;
        negative = false;
        overflow = false;
        end = start;
        while (i < s.Length && IsSpace(s[i]))
        {
            i++;
        }

        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }

        if ((radix == 0 || radix == 16) && i + 1 < s.Length && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')
            && i + 2 < s.Length && DigitValue(s[i + 2]) is >= 0 and < 16)
        {
            i += 2;
            radix = 16;
        }
        else if (radix == 0)
        {
            radix = i < s.Length && s[i] == '0' ? 8 : 10;
        }

        ulong value = 0;
        var digitsStart = i;
        while (i < s.Length)
        {
            var d = DigitValue(s[i]);
            if (d < 0 || d >= radix)
            {
                break;
            }

            if (!overflow)
            {
                var next = (UInt128)value * (uint)radix + (uint)d;
                if (next > ulong.MaxValue)
                {
                    overflow = true;
                }
                else
                {
                    value = (ulong)next;
                }
            }

            i++;
        }

        if (i == digitsStart)
        {
            // Nothing converted: C leaves the end pointer at the very start.
            negative = false;
            overflow = false;
            return 0;
        }

        end = i;
        return value;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'z' => c - 'a' + 10,
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => -1,
    };
}
