using System.Globalization;

namespace Netdevd.Qapi.Json;

/// <summary>C's printf <c>%.17g</c> for doubles, which QEMU uses for JSON numbers that are not integers.</summary>
internal static class CDoubleFormat
{
    public static string G17(double d)
    {
        if (double.IsNaN(d))
        {
            // glibc prints the sign of a NaN.
            return double.IsNegative(d) ? "-nan" : "nan";
        }

        if (double.IsInfinity(d))
        {
            return d < 0 ? "-inf" : "inf";
        }

        // 17 significant digits, rounded; the exponent after rounding picks the style (C99 %g).
        var sci = d.ToString("E16", CultureInfo.InvariantCulture);
        var ePos = sci.IndexOf('E', StringComparison.Ordinal);
        var exponent = int.Parse(sci.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (exponent < -4 || exponent >= 17)
        {
            var mantissa = TrimZeros(sci[..ePos]);
            var sign = exponent < 0 ? '-' : '+';
            var digits = Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
            return $"{mantissa}e{sign}{digits}";
        }

        return TrimZeros(d.ToString("F" + (16 - exponent).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
    }

    /// <summary>%g drops trailing zeros of the fraction, and the point when nothing is left.</summary>
    private static string TrimZeros(string s)
    {
        if (!s.Contains('.', StringComparison.Ordinal))
        {
            return s;
        }

        var end = s.Length;
        while (s[end - 1] == '0')
        {
            end--;
        }

        if (s[end - 1] == '.')
        {
            end--;
        }

        return s[..end];
    }
}
