namespace Netdevd.Qapi.Parsing;

/// <summary>
/// QEMU's qemu_strtosz (util/cutils.c): a byte count with an optional binary suffix
/// (B, k/K, M, G, T, P, E), a fraction only together with a suffix larger than B
/// ("1.5k"), or plain hexadecimal without suffix ("0x1000"). Negative values are refused.
/// </summary>
public static class QemuSize
{
    public static bool TryParse(string s, out ulong result)
    {
        result = 0;
        var retval = CStrtol.ParseUInt(s, 0, 10, out var val, out var end);
        if (retval == -34)
        {
            return false;
        }

        ulong valf = 0;
        if (retval == 0 && val == 0 && end < s.Length && (s[end] == 'x' || s[end] == 'X'))
        {
            val = CStrtol.StrToULL(s, 0, 16, out end, out var overflow);
            if (overflow || end == 0)
            {
                return false;
            }

            if (end < s.Length && (s[end] == '.' || SuffixMultiplier(s[end]) > 0))
            {
                return false;
            }
        }
        else if ((end < s.Length && s[end] == '.') || (end == 0 && s.Contains('.', StringComparison.Ordinal)))
        {
            double fraction = 0;
            if (retval == 0 && s[end] == '.' && !(end + 1 < s.Length && char.IsAsciiDigit(s[end + 1])))
            {
                // "1.k": at least one digit was parsed already.
                end++;
            }
            else
            {
                // strtod would read 'e' as an exponent; QEMU reads it as the exabyte suffix.
                var copy = s[end..];
                var cut = copy.IndexOfAny(['e', 'E']);
                if (cut >= 0)
                {
                    copy = copy[..cut];
                }

                fraction = CStrtod.Parse(copy, 0, out var tail, out var outOfRange);
                retval = tail == 0 ? -22 : (outOfRange ? -34 : 0);
                if (retval == 0 && !double.IsFinite(fraction))
                {
                    retval = -22;
                }

                end += tail;
                if (double.IsNegative(fraction))
                {
                    return false;
                }
            }

            if (fraction == 1.0)
            {
                if (val == ulong.MaxValue)
                {
                    return false;
                }

                val++;
            }
            else if (retval == -34)
            {
                valf = 1;
                retval = 0;
            }
            else
            {
                valf = (ulong)(fraction * 18446744073709551616.0);
                if (valf == 0 && fraction > 0.0)
                {
                    valf = 1;
                }
            }
        }

        if (retval != 0)
        {
            return false;
        }

        long mul = end < s.Length ? SuffixMultiplier(s[end]) : -1;
        if (mul > 0)
        {
            end++;
        }
        else
        {
            mul = 1;
        }

        if (mul == 1)
        {
            // A fraction needs a scale.
            if (valf != 0)
            {
                return false;
            }
        }
        else
        {
            // Exact 64.64 fixed point times the multiplier, rounding half up.
            var whole = (UInt128)val * (ulong)mul;
            var frac = (UInt128)valf * (ulong)mul;
            var total = whole + (frac >> 64) + (ulong)((ulong)frac >> 63);
            if (total > ulong.MaxValue)
            {
                return false;
            }

            val = (ulong)total;
        }

        if (end != s.Length)
        {
            return false;
        }

        result = val;
        return true;
    }

    private static long SuffixMultiplier(char c) => char.ToUpperInvariant(c) switch
    {
        'B' => 1,
        'K' => 1L << 10,
        'M' => 1L << 20,
        'G' => 1L << 30,
        'T' => 1L << 40,
        'P' => 1L << 50,
        'E' => 1L << 60,
        _ => -1,
    };
}
