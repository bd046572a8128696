using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over a BOOTP/DHCP message (RFC 951, RFC 2131): the 236-byte fixed part, then (DHCP only)
/// the magic cookie and options. <see cref="TryCreate"/> accepts plain BOOTP (no cookie), in which
/// case <see cref="Options"/> is empty; check <see cref="HasMagicCookie"/> to tell them apart.
/// </summary>
public readonly ref struct DhcpMessage
{
    /// <summary>op..file: everything before the cookie.</summary>
    public const int FixedLength = 236;

    /// <summary>Offset of the options, after the 4-byte magic cookie.</summary>
    public const int OptionsOffset = 240;

    /// <summary>RFC 951's minimum BOOTP size (a 64-byte vendor area): replies are padded to it.</summary>
    public const int MinimumBootpLength = 300;

    public const uint MagicCookieValue = 0x63825363;
    public const byte OpRequest = 1;
    public const byte OpReply = 2;
    public const ushort FlagBroadcast = 0x8000;
    public const ushort ClientPort = 68;
    public const ushort ServerPort = 67;

    private readonly Span<byte> _b;

    private DhcpMessage(Span<byte> buffer) => _b = buffer;

    public static DhcpMessage CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out DhcpMessage message)
    {
        message = new DhcpMessage(buffer);
        return buffer.Length >= FixedLength;
    }

    public Span<byte> Bytes => _b;

    public byte Op
    {
        get => _b[0];
        set => _b[0] = value;
    }

    public byte HardwareType
    {
        get => _b[1];
        set => _b[1] = value;
    }

    public byte HardwareLength
    {
        get => _b[2];
        set => _b[2] = value;
    }

    public byte Hops
    {
        get => _b[3];
        set => _b[3] = value;
    }

    public uint TransactionId
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[4..], value);
    }

    public ushort Seconds
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[8..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[8..], value);
    }

    public ushort Flags
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[10..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[10..], value);
    }

    public bool Broadcast => (Flags & FlagBroadcast) != 0;

    /// <summary>ciaddr: the client's address when it already has one (RENEW, INFORM).</summary>
    public Ipv4Address ClientAddress
    {
        get => Ipv4Address.Read(_b[12..]);
        set => value.WriteTo(_b[12..]);
    }

    /// <summary>yiaddr: the address offered/assigned to the client.</summary>
    public Ipv4Address YourAddress
    {
        get => Ipv4Address.Read(_b[16..]);
        set => value.WriteTo(_b[16..]);
    }

    /// <summary>siaddr: next server (TFTP) in BOOTP.</summary>
    public Ipv4Address ServerAddress
    {
        get => Ipv4Address.Read(_b[20..]);
        set => value.WriteTo(_b[20..]);
    }

    /// <summary>giaddr: relay agent.</summary>
    public Ipv4Address RelayAddress
    {
        get => Ipv4Address.Read(_b[24..]);
        set => value.WriteTo(_b[24..]);
    }

    /// <summary>The whole 16-byte chaddr field.</summary>
    public Span<byte> ClientHardwareField => _b.Slice(28, 16);

    /// <summary>The first six chaddr bytes as an Ethernet address.</summary>
    public MacAddress ClientHardwareAddress
    {
        get => MacAddress.Read(_b[28..]);
        set => value.WriteTo(_b[28..]);
    }

    /// <summary>sname: 64 bytes, NUL-terminated.</summary>
    public Span<byte> ServerName => _b.Slice(44, 64);

    /// <summary>file: 128 bytes, NUL-terminated boot file name.</summary>
    public Span<byte> BootFile => _b.Slice(108, 128);

    public bool HasMagicCookie =>
        _b.Length >= OptionsOffset && BinaryPrimitives.ReadUInt32BigEndian(_b[FixedLength..]) == MagicCookieValue;

    public uint MagicCookie
    {
        set => BinaryPrimitives.WriteUInt32BigEndian(_b[FixedLength..], value);
    }

    /// <summary>The option area (empty for BOOTP); iterate it with <see cref="DhcpOptionReader"/>.</summary>
    public Span<byte> Options => HasMagicCookie ? _b[OptionsOffset..] : [];

    public DhcpOptionReader ReadOptions() => new(Options);

    /// <summary>Finds the first occurrence of an option; false when absent.</summary>
    public bool TryGetOption(byte code, out ReadOnlySpan<byte> data)
    {
        var reader = ReadOptions();
        while (reader.MoveNext())
        {
            if (reader.Code == code)
            {
                data = reader.Data;
                return true;
            }
        }

        data = default;
        return false;
    }

    /// <summary>Option 53, or 0 when absent or malformed (a BOOTP message).</summary>
    public byte MessageType => TryGetOption(DhcpOption.MessageType, out var d) && d.Length == 1 ? d[0] : (byte)0;

    /// <summary>Clears the fixed part and writes the cookie; the caller then writes options at <see cref="OptionsOffset"/>.</summary>
    public void Clear()
    {
        _b[..OptionsOffset].Clear();
        MagicCookie = MagicCookieValue;
    }
}
