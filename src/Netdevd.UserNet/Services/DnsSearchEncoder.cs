using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// Encodes the DHCP domain-search option (119, RFC 3397) as libslirp's dnssearch.c does: names in
/// the given order, RFC 1035 compression of common suffixes (a pointer only when it saves bytes,
/// i.e. the shared suffix is longer than a 2-byte pointer, and always to the first copy), invalid
/// names skipped, and the result split into as many 119 options of at most 255 bytes as needed
/// (pointers are offsets into the concatenated data, RFC 3396).
/// </summary>
public static class DnsSearchEncoder
{
    private const int MaxOptionData = 255;

    /// <summary>The complete option bytes (code, length, data, repeated); empty when no name is valid.</summary>
    public static byte[] Encode(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var data = new List<byte>();

        // Every label boundary written so far: its uncompressed suffix and where it starts.
        var suffixes = new List<(byte[] Suffix, int Offset)>();
        Span<byte> wire = stackalloc byte[DnsName.MaximumLength + 1];
        foreach (var name in names)
        {
            if (!DnsName.TryEncode(name, wire, out var len) || len == 1)
            {
                continue; // libslirp warns and skips empty or malformed names.
            }

            var labels = wire[..len].ToArray();
            var start = data.Count;
            var pos = 0;
            var pointer = -1;
            while (labels[pos] != 0)
            {
                var suffix = labels.AsSpan(pos);
                if (suffix.Length > 2 && Find(suffixes, suffix) is var at && at >= 0 && at < 0x3FFF)
                {
                    pointer = at;
                    break;
                }

                pos += labels[pos] + 1;
            }

            // Literal labels before the pointer (or the whole name), then the pointer or the root.
            for (var i = 0; i < pos; i++)
            {
                data.Add(labels[i]);
            }

            if (pointer >= 0)
            {
                data.Add((byte)(0xC0 | (pointer >> 8)));
                data.Add((byte)pointer);
            }
            else
            {
                data.Add(0);
            }

            for (var p = 0; p < pos; p += labels[p] + 1)
            {
                suffixes.Add((labels[p..], start + p));
            }
        }

        if (data.Count == 0)
        {
            return [];
        }

        var blocks = (data.Count + MaxOptionData - 1) / MaxOptionData;
        var result = new byte[data.Count + (2 * blocks)];
        var o = 0;
        for (var off = 0; off < data.Count; off += MaxOptionData)
        {
            var n = Math.Min(MaxOptionData, data.Count - off);
            result[o++] = DhcpOption.DomainSearch;
            result[o++] = (byte)n;
            data.CopyTo(off, result, o, n);
            o += n;
        }

        return result;
    }

    private static int Find(List<(byte[] Suffix, int Offset)> suffixes, ReadOnlySpan<byte> suffix)
    {
        foreach (var (s, offset) in suffixes)
        {
            if (suffix.SequenceEqual(s))
            {
                return offset;
            }
        }

        return -1;
    }
}
