using System.Runtime.CompilerServices;

namespace Netdevd.Wire;

/// <summary>
/// View over an ICMPv4 message (RFC 792): type, code, checksum and the 4-byte rest-of-header
/// (identifier and sequence number for echo), then <see cref="Data"/> (echo payload, or the
/// offending IP header plus 8 bytes for errors).
/// </summary>
public readonly ref struct IcmpPacket
{
    public const int HeaderLength = IcmpHeader.Length;

    public const byte TypeEchoReply = 0;
    public const byte TypeDestinationUnreachable = 3;
    public const byte TypeEchoRequest = 8;
    public const byte TypeTimeExceeded = 11;
    public const byte TypeParameterProblem = 12;

    public const byte CodeNetUnreachable = 0;
    public const byte CodeHostUnreachable = 1;
    public const byte CodeProtocolUnreachable = 2;
    public const byte CodePortUnreachable = 3;
    public const byte CodeFragmentationNeeded = 4;

    private readonly Span<byte> _b;

    private IcmpPacket(Span<byte> buffer) => _b = buffer;

    public static IcmpPacket CreateUnchecked(Span<byte> buffer) => new(buffer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryCreate(Span<byte> buffer, out IcmpPacket packet)
    {
        packet = new IcmpPacket(buffer);
        return buffer.Length >= HeaderLength;
    }

    public Span<byte> Bytes => _b;

    /// <summary>The type, code, checksum and rest-of-header fields ICMPv4 and ICMPv6 share.</summary>
    public IcmpHeader Header => IcmpHeader.CreateUnchecked(_b);

    public bool IsEcho => Header.Type is TypeEchoRequest or TypeEchoReply;

    /// <summary>ICMPv4 has no pseudo-header: the checksum covers the whole message.</summary>
    public bool VerifyChecksum() => Wire.Checksum.IsValid(_b);

    public void FillChecksum()
    {
        var header = Header;
        header.Checksum = 0;
        header.Checksum = Wire.Checksum.Compute(_b);
    }
}
