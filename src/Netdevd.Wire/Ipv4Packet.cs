using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Netdevd.Wire;

/// <summary>
/// View over an IPv4 datagram (RFC 791). <see cref="TryCreate"/> checks version 4, a header length
/// of at least 20 bytes within the buffer and a total length between the header length and the
/// buffer length (a longer buffer is Ethernet padding: <see cref="Payload"/> ends at the total length).
/// It does not check the header checksum: call <see cref="VerifyChecksum"/>.
/// </summary>
public readonly ref struct Ipv4Packet
{
    public const int MinimumHeaderLength = 20;
    public const int MaximumHeaderLength = 60;

    private const ushort FlagDontFragment = 0x4000;
    private const ushort FlagMoreFragments = 0x2000;
    private const ushort OffsetMask = 0x1FFF;

    private readonly Span<byte> _b;

    private Ipv4Packet(Span<byte> buffer) => _b = buffer;

    public static Ipv4Packet CreateUnchecked(Span<byte> buffer) => new(buffer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryCreate(Span<byte> buffer, out Ipv4Packet packet)
    {
        packet = new Ipv4Packet(buffer);
        if (buffer.Length < MinimumHeaderLength || (buffer[0] >> 4) != 4)
        {
            return false;
        }

        var headerLength = (buffer[0] & 0xF) * 4;
        var totalLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        return headerLength >= MinimumHeaderLength && headerLength <= buffer.Length &&
               totalLength >= headerLength && totalLength <= buffer.Length;
    }

    public byte Version
    {
        get => (byte)(_b[0] >> 4);
        set => _b[0] = (byte)((_b[0] & 0x0F) | (value << 4));
    }

    /// <summary>Header length in bytes (IHL * 4).</summary>
    public int HeaderLength
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (_b[0] & 0x0F) * 4;
        set => _b[0] = (byte)((_b[0] & 0xF0) | ((value / 4) & 0x0F));
    }

    /// <summary>The old TOS octet: DSCP (6 bits) and ECN (2 bits).</summary>
    public byte TypeOfService
    {
        get => _b[1];
        set => _b[1] = value;
    }

    public ushort TotalLength
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value);
    }

    public ushort Identification
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[4..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[4..], value);
    }

    private ushort FlagsAndOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[6..], value);
    }

    public bool DontFragment
    {
        get => (FlagsAndOffset & FlagDontFragment) != 0;
        set => FlagsAndOffset = (ushort)(value ? FlagsAndOffset | FlagDontFragment : FlagsAndOffset & ~FlagDontFragment);
    }

    public bool MoreFragments
    {
        get => (FlagsAndOffset & FlagMoreFragments) != 0;
        set => FlagsAndOffset = (ushort)(value ? FlagsAndOffset | FlagMoreFragments : FlagsAndOffset & ~FlagMoreFragments);
    }

    /// <summary>Fragment offset in bytes (the field counts 8-byte units).</summary>
    public int FragmentOffset
    {
        get => (FlagsAndOffset & OffsetMask) * 8;
        set => FlagsAndOffset = (ushort)((FlagsAndOffset & ~OffsetMask) | ((value / 8) & OffsetMask));
    }

    /// <summary>True for any piece of a fragmented datagram (MF set or a non-zero offset).</summary>
    public bool IsFragment
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (FlagsAndOffset & (FlagMoreFragments | OffsetMask)) != 0;
    }

    public byte TimeToLive
    {
        get => _b[8];
        set => _b[8] = value;
    }

    public byte Protocol
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => _b[9];
        set => _b[9] = value;
    }

    public ushort HeaderChecksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[10..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[10..], value);
    }

    public Ipv4Address Source
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Ipv4Address.Read(_b[12..]);
        set => value.WriteTo(_b[12..]);
    }

    public Ipv4Address Destination
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Ipv4Address.Read(_b[16..]);
        set => value.WriteTo(_b[16..]);
    }

    public int OptionsLength => HeaderLength - MinimumHeaderLength;

    public Span<byte> Options => _b[MinimumHeaderLength..HeaderLength];

    public Span<byte> Header
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => _b[..HeaderLength];
    }

    /// <summary>The datagram without link padding (0..TotalLength).</summary>
    public Span<byte> Bytes => _b[..TotalLength];

    public Span<byte> Payload
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => _b[HeaderLength..TotalLength];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool VerifyChecksum() => Checksum.IsValid(Header);

    public void FillChecksum()
    {
        HeaderChecksum = 0;
        HeaderChecksum = Checksum.Compute(Header);
    }

    /// <summary>The pseudo-header sum for this datagram's upper-layer checksum.</summary>
    public uint PseudoHeaderSum => Checksum.PseudoHeader(Source, Destination, Protocol, TotalLength - HeaderLength);

    /// <summary>
    /// Writes a 20-byte header (no options) with the checksum filled in; returns the header length.
    /// <paramref name="payloadLength"/> is the upper-layer length that will follow.
    /// </summary>
    public static int WriteHeader(
        Span<byte> buffer,
        Ipv4Address source,
        Ipv4Address destination,
        byte protocol,
        int payloadLength,
        ushort identification = 0,
        byte timeToLive = 64,
        bool dontFragment = false)
    {
        var p = new Ipv4Packet(buffer);
        buffer[0] = 0x45;
        p.TypeOfService = 0;
        p.TotalLength = (ushort)(MinimumHeaderLength + payloadLength);
        p.Identification = identification;
        p.FlagsAndOffset = dontFragment ? FlagDontFragment : (ushort)0;
        p.TimeToLive = timeToLive;
        p.Protocol = protocol;
        p.Source = source;
        p.Destination = destination;
        p.FillChecksum();
        return MinimumHeaderLength;
    }
}
