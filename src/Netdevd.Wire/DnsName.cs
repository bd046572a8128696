namespace Netdevd.Wire;

/// <summary>
/// Domain names in wire form (RFC 1035 §3.1, §4.1.4). Reading follows compression pointers, but
/// only backwards (each pointer must point before the label that holds it), so a hostile message
/// cannot loop; the expanded name is bounded to 255 bytes and labels to 63.
/// </summary>
public static class DnsName
{
    public const int MaximumLength = 255;
    public const int MaximumLabelLength = 63;

    /// <summary>
    /// Expands the name at <paramref name="offset"/> into dotted text (ASCII bytes, no trailing dot,
    /// empty for the root) in <paramref name="dotted"/>; <paramref name="next"/> is the offset after
    /// the name in the original position (after the first pointer, if any).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> message, int offset, Span<byte> dotted, out int written, out int next)
    {
        written = 0;
        next = offset;
        var pos = offset;
        var jumped = false;
        var wireLength = 0;
        while (true)
        {
            if (pos < 0 || pos >= message.Length)
            {
                return false;
            }

            int len = message[pos];
            if ((len & 0xC0) == 0xC0)
            {
                if (pos + 1 >= message.Length)
                {
                    return false;
                }

                var target = ((len & 0x3F) << 8) | message[pos + 1];
                if (target >= pos)
                {
                    return false;
                }

                if (!jumped)
                {
                    next = pos + 2;
                    jumped = true;
                }

                pos = target;
                continue;
            }

            if ((len & 0xC0) != 0)
            {
                return false; // 0x40/0x80: extended label types, obsolete (RFC 6891 §5).
            }

            wireLength += len + 1;
            if (wireLength > MaximumLength)
            {
                return false;
            }

            if (len == 0)
            {
                if (!jumped)
                {
                    next = pos + 1;
                }

                return true;
            }

            if (pos + 1 + len > message.Length)
            {
                return false;
            }

            var needed = (written > 0 ? 1 : 0) + len;
            if (written + needed > dotted.Length)
            {
                return false;
            }

            if (written > 0)
            {
                dotted[written++] = (byte)'.';
            }

            message.Slice(pos + 1, len).CopyTo(dotted[written..]);
            written += len;
            pos += 1 + len;
        }
    }

    /// <summary>Validates the name at <paramref name="offset"/> and finds the offset after it.</summary>
    public static bool TrySkip(ReadOnlySpan<byte> message, int offset, out int next)
    {
        Span<byte> scratch = stackalloc byte[MaximumLength];
        return TryRead(message, offset, scratch, out _, out next);
    }

    /// <summary>
    /// Encodes dotted text (a trailing dot allowed; empty or "." is the root) as uncompressed labels
    /// ending with the zero byte. False for empty labels, labels over 63 bytes, names over 255 bytes,
    /// non-ASCII text, or too small a buffer.
    /// </summary>
    public static bool TryEncode(ReadOnlySpan<char> dotted, Span<byte> destination, out int written)
    {
        written = 0;
        if (dotted.Length > 0 && dotted[^1] == '.')
        {
            dotted = dotted[..^1];
        }

        var pos = 0;
        while (dotted.Length > 0)
        {
            var dot = dotted.IndexOf('.');
            var label = dot < 0 ? dotted : dotted[..dot];
            if (label.Length == 0 || label.Length > MaximumLabelLength || pos + 1 + label.Length > destination.Length)
            {
                return false;
            }

            destination[pos++] = (byte)label.Length;
            foreach (var c in label)
            {
                if (c > 0x7F)
                {
                    return false;
                }

                destination[pos++] = (byte)c;
            }

            dotted = dot < 0 ? [] : dotted[(dot + 1)..];
            if (dot >= 0 && dotted.Length == 0)
            {
                return false; // "a..": an empty label inside.
            }
        }

        if (pos + 1 > destination.Length || pos + 1 > MaximumLength)
        {
            return false;
        }

        destination[pos++] = 0;
        written = pos;
        return true;
    }
}
