using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over a DNS message (RFC 1035 §4.1): the 12-byte header here, names via <see cref="DnsName"/>,
/// questions via <see cref="TryReadQuestion"/>. Used to route queries and answers by id; the user
/// stack never interprets resource records.
/// </summary>
public readonly ref struct DnsMessage
{
    public const int HeaderLength = 12;
    public const ushort Port = 53;

    private const ushort FlagResponse = 0x8000;
    private const ushort FlagAuthoritative = 0x0400;
    private const ushort FlagTruncated = 0x0200;
    private const ushort FlagRecursionDesired = 0x0100;
    private const ushort FlagRecursionAvailable = 0x0080;

    private readonly Span<byte> _b;

    private DnsMessage(Span<byte> buffer) => _b = buffer;

    public static DnsMessage CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out DnsMessage message)
    {
        message = new DnsMessage(buffer);
        return buffer.Length >= HeaderLength;
    }

    public Span<byte> Bytes => _b;

    public ushort Id
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b, value);
    }

    /// <summary>The whole flags word: QR, opcode, AA, TC, RD, RA, Z, RCODE.</summary>
    public ushort Flags
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value);
    }

    public bool IsResponse => (Flags & FlagResponse) != 0;

    public int Opcode => (Flags >> 11) & 0xF;

    public bool Authoritative => (Flags & FlagAuthoritative) != 0;

    public bool Truncated => (Flags & FlagTruncated) != 0;

    public bool RecursionDesired => (Flags & FlagRecursionDesired) != 0;

    public bool RecursionAvailable => (Flags & FlagRecursionAvailable) != 0;

    public int ResponseCode => Flags & 0xF;

    public ushort QuestionCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value);
    }

    public ushort AnswerCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value);
    }

    public ushort AuthorityCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[8..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[8..], value);
    }

    public ushort AdditionalCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[10..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[10..], value);
    }

    /// <summary>Reads the question at <paramref name="offset"/> (12 for the first); false if malformed.</summary>
    public bool TryReadQuestion(int offset, out DnsQuestion question, out int next)
    {
        question = default;
        if (!DnsName.TrySkip(_b, offset, out var afterName) || afterName + 4 > _b.Length)
        {
            next = offset;
            return false;
        }

        question = new DnsQuestion(
            offset,
            BinaryPrimitives.ReadUInt16BigEndian(_b[afterName..]),
            BinaryPrimitives.ReadUInt16BigEndian(_b[(afterName + 2)..]));
        next = afterName + 4;
        return true;
    }
}
