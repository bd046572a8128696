using System.Text;

namespace Netdevd.Qapi.Json;

/// <summary>
/// QEMU's "modified UTF-8" rules (util/unicode.c): what counts as a valid character in
/// JSON input and output. Modified UTF-8 is UTF-8 except that U+0000 may be written as
/// C0 80; noncharacters, surrogates, overlong forms and code points past U+10FFFF are invalid.
/// </summary>
internal static class ModUtf8
{
    private static readonly int[] MinCodePoint = [0x80, 0x800, 0x10000, 0x200000, 0x4000000];

    /// <summary>
    /// mod_utf8_codepoint: decodes the sequence at the start of <paramref name="s"/> (bytes past
    /// its end read as NUL, as in a C string). Returns the code point or -1; <paramref name="length"/>
    /// is how far QEMU advances, also for invalid sequences.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> s, out int length)
    {
        if (s.IsEmpty || s[0] == 0)
        {
            length = 0;
            return -1;
        }

        int first = s[0];
        if (first < 0x80)
        {
            length = 1;
            return first;
        }

        if (first >= 0xFE || (first & 0x40) == 0)
        {
            // Impossible byte, or a continuation byte where a sequence should start.
            length = 1;
            return -1;
        }

        var len = 0;
        var mask = 0x80;
        for (; (first & mask) != 0; mask >>= 1)
        {
            len++;
        }

        var cp = first & (mask - 1);
        for (var i = 1; i < len; i++)
        {
            var b = i < s.Length ? s[i] : 0;
            if ((b & 0xC0) != 0x80)
            {
                length = i;
                return -1;
            }

            cp = (cp << 6) | (b & 0x3F);
        }

        length = len;
        if (cp > 0x10FFFF || IsNonCharacter(cp) || (cp >= 0xD800 && cp <= 0xDFFF)
            || (cp < MinCodePoint[len - 2] && !(cp == 0 && len == 2)))
        {
            return -1;
        }

        return cp;
    }

    /// <summary>is_valid_codepoint, which mod_utf8_encode applies to \u escapes.</summary>
    public static bool IsValidCodePoint(int cp) =>
        cp >= 0 && cp <= 0x10FFFF && !IsNonCharacter(cp) && !(cp >= 0xD800 && cp <= 0xDFFF);

    public static bool IsNonCharacter(int cp) => (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;

    /// <summary>
    /// Bytes QEMU would keep as a C string (up to the first NUL), as text: every invalid
    /// sequence becomes U+FFFD, which is what QEMU's JSON writer makes of it on output.
    /// </summary>
    public static string DecodeLossy(ReadOnlySpan<byte> bytes)
    {
        var nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
        {
            bytes = bytes[..nul];
        }

        var sb = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            var cp = Decode(bytes, out var len);
            AppendCodePoint(sb, cp < 0 ? 0xFFFD : cp);
            bytes = bytes[Math.Max(len, 1)..];
        }

        return sb.ToString();
    }

    public static void AppendCodePoint(StringBuilder sb, int cp)
    {
        if (cp < 0x10000)
        {
            sb.Append((char)cp);
        }
        else
        {
            cp -= 0x10000;
            sb.Append((char)(0xD800 + (cp >> 10)));
            sb.Append((char)(0xDC00 + (cp & 0x3FF)));
        }
    }
}
