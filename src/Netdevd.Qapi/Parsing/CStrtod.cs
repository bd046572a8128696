using System.Globalization;

namespace Netdevd.Qapi.Parsing;

/// <summary>
/// C's strtod in the C locale, for the decimal spellings QEMU users write (digits, fraction,
/// exponent, inf/infinity/nan). Hexadecimal floats are not recognised (they convert as "0").
/// </summary>
internal static class CStrtod
{
    /// <summary>Parses a prefix of <paramref name="s"/> from <paramref name="start"/>; <paramref name="end"/> == start when nothing converted.</summary>
    public static double Parse(string s, int start, out int end, out bool outOfRange)
    {
        outOfRange = false;
        end = start;
        var i = start;
        while (i < s.Length && CStrtol.IsSpace(s[i]))
        {
            i++;
        }

        var numberStart = i;
        var negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }

        if (MatchWord(s, i, "infinity") || MatchWord(s, i, "inf"))
        {
            end = i + (MatchWord(s, i, "infinity") ? 8 : 3);
            return negative ? double.NegativeInfinity : double.PositiveInfinity;
        }

        if (MatchWord(s, i, "nan"))
        {
            end = i + 3;
            // "nan(chars)" is consumed whole when the parenthesis closes.
            if (end < s.Length && s[end] == '(')
            {
                var j = end + 1;
                while (j < s.Length && (char.IsAsciiLetterOrDigit(s[j]) || s[j] == '_'))
                {
                    j++;
                }

                if (j < s.Length && s[j] == ')')
                {
                    end = j + 1;
                }
            }

            return double.NaN;
        }

        var digits = 0;
        var nonZero = false;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            nonZero |= s[i] != '0';
            digits++;
            i++;
        }

        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                nonZero |= s[i] != '0';
                digits++;
                i++;
            }
        }

        if (digits == 0)
        {
            return 0;
        }

        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            var j = i + 1;
            if (j < s.Length && (s[j] == '+' || s[j] == '-'))
            {
                j++;
            }

            if (j < s.Length && char.IsAsciiDigit(s[j]))
            {
                while (j < s.Length && char.IsAsciiDigit(s[j]))
                {
                    j++;
                }

                i = j;
            }
        }

        end = i;
        var value = double.Parse(s.AsSpan(numberStart, i - numberStart), NumberStyles.Float, CultureInfo.InvariantCulture);
        if (double.IsInfinity(value) || (nonZero && Math.Abs(value) < double.Epsilon * 4503599627370496.0))
        {
            // Overflow, or underflow to zero or into the subnormal range: glibc sets ERANGE.
            outOfRange = true;
        }

        return value;
    }

    /// <summary>QEMU's qemu_strtod_finite with a null end pointer: whole string, finite, in range.</summary>
    public static bool TryQemuStrtodFinite(string s, out double value)
    {
        value = Parse(s, 0, out var end, out var outOfRange);
        return end != 0 && end == s.Length && !outOfRange && double.IsFinite(value);
    }

    private static bool MatchWord(string s, int i, string word) =>
        i + word.Length <= s.Length && string.Compare(s, i, word, 0, word.Length, StringComparison.OrdinalIgnoreCase) == 0;
}
