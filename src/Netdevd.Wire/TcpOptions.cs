using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// The TCP options the user stack negotiates: MSS (RFC 9293), window scale and timestamps
/// (RFC 7323), SACK-permitted (RFC 2018). Parsing keeps the last value of each kind, skips
/// kinds it does not know, and fails only when an option's length runs out of the header;
/// <see cref="SackBlockCount"/> counts SACK blocks without storing them (we never send SACKs).
/// </summary>
public record struct TcpOptions
{
    public const byte KindEnd = 0;
    public const byte KindNop = 1;
    public const byte KindMss = 2;
    public const byte KindWindowScale = 3;
    public const byte KindSackPermitted = 4;
    public const byte KindSack = 5;
    public const byte KindTimestamps = 8;

    /// <summary>RFC 7323 §2.3: shift counts above 14 are treated as 14.</summary>
    public const byte MaximumWindowScale = 14;

    public ushort? MaximumSegmentSize { get; set; }

    public byte? WindowScale { get; set; }

    public bool SackPermitted { get; set; }

    public bool HasTimestamps { get; set; }

    public uint TimestampValue { get; set; }

    public uint TimestampEchoReply { get; set; }

    public int SackBlockCount { get; set; }

    /// <summary>Parses an options area; false (with what was read so far) when it is malformed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> options, out TcpOptions result)
    {
        result = default;
        var i = 0;
        while (i < options.Length)
        {
            var kind = options[i];
            if (kind == KindEnd)
            {
                return true;
            }

            if (kind == KindNop)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                return false;
            }

            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
            {
                return false;
            }

            var data = options.Slice(i + 2, length - 2);
            switch (kind)
            {
                case KindMss when data.Length == 2:
                    result.MaximumSegmentSize = BinaryPrimitives.ReadUInt16BigEndian(data);
                    break;
                case KindWindowScale when data.Length == 1:
                    result.WindowScale = Math.Min(data[0], MaximumWindowScale);
                    break;
                case KindSackPermitted when data.Length == 0:
                    result.SackPermitted = true;
                    break;
                case KindSack when data.Length % 8 == 0:
                    result.SackBlockCount = data.Length / 8;
                    break;
                case KindTimestamps when data.Length == 8:
                    result.HasTimestamps = true;
                    result.TimestampValue = BinaryPrimitives.ReadUInt32BigEndian(data);
                    result.TimestampEchoReply = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
                    break;
                default:
                    // Unknown kinds, and known kinds with a wrong length, are ignored (RFC 9293 §3.1).
                    break;
            }

            i += length;
        }

        return true;
    }

    /// <summary>Bytes <see cref="Emit"/> writes: the options padded with NOPs to a multiple of 4.</summary>
    public readonly int EmittedLength
    {
        get
        {
            var n = (MaximumSegmentSize.HasValue ? 4 : 0) + (SackPermitted ? 2 : 0) +
                    (HasTimestamps ? (SackPermitted ? 10 : 12) : 0) + (WindowScale.HasValue ? 4 : 0);
            return (n + 3) & ~3;
        }
    }

    /// <summary>
    /// Writes the options in the order Linux uses (MSS, SACK-permitted+timestamps or NOPs, window scale),
    /// so a SYN with all four is the familiar 20 bytes; returns the bytes written (a multiple of 4).
    /// </summary>
    public readonly int Emit(Span<byte> buffer)
    {
        var i = 0;
        if (MaximumSegmentSize is { } mss)
        {
            buffer[i++] = KindMss;
            buffer[i++] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[i..], mss);
            i += 2;
        }

        if (SackPermitted)
        {
            buffer[i++] = KindSackPermitted;
            buffer[i++] = 2;
        }

        if (HasTimestamps)
        {
            if (!SackPermitted)
            {
                buffer[i++] = KindNop;
                buffer[i++] = KindNop;
            }

            buffer[i++] = KindTimestamps;
            buffer[i++] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(buffer[i..], TimestampValue);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(i + 4)..], TimestampEchoReply);
            i += 8;
        }

        if (WindowScale is { } ws)
        {
            buffer[i++] = KindNop;
            buffer[i++] = KindWindowScale;
            buffer[i++] = 3;
            buffer[i++] = ws;
        }

        while ((i & 3) != 0)
        {
            buffer[i++] = KindNop;
        }

        return i;
    }
}
