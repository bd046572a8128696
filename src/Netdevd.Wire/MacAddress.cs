using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Netdevd.Wire;

/// <summary>
/// A 48-bit Ethernet address held in the low bits of a <see cref="ulong"/>, so that it is a
/// plain value (no array, no allocation) that compares and hashes as one word.
/// </summary>
public readonly record struct MacAddress
{
    public const int Length = 6;

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value & 0xFFFF_FFFF_FFFFUL;

    public static MacAddress Broadcast { get; } = new(0xFFFF_FFFF_FFFFUL);

    public static MacAddress Zero { get; } = default;

    /// <summary>The address as a big-endian 48-bit number (first octet in bits 47..40).</summary>
    public ulong Value => _value;

    public bool IsBroadcast => _value == 0xFFFF_FFFF_FFFFUL;

    /// <summary>The I/G bit of the first octet: group (multicast or broadcast) addresses.</summary>
    public bool IsMulticast => (_value & 0x0100_0000_0000UL) != 0;

    public bool IsUnicast => !IsMulticast;

    public bool IsZero => _value == 0;

    public static MacAddress FromValue(ulong value) => new(value);

    /// <summary>Reads six octets; the span must hold at least <see cref="Length"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));

    public static MacAddress Create(byte a, byte b, byte c, byte d, byte e, byte f) =>
        new(((ulong)a << 40) | ((ulong)b << 32) | ((ulong)c << 24) | ((ulong)d << 16) | ((ulong)e << 8) | f);

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(_value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)_value);
    }

    /// <summary>Parses <c>xx:xx:xx:xx:xx:xx</c> (hex digits, one or two per octet, ':' or '-').</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress address)
    {
        address = default;
        if (text is null)
        {
            return false;
        }

        ulong value = 0;
        var octets = 0;
        var i = 0;
        while (octets < Length)
        {
            var start = i;
            uint octet = 0;
            while (i < text.Length && i - start < 2 && char.IsAsciiHexDigit(text[i]))
            {
                octet = (octet << 4) | (uint)HexValue(text[i]);
                i++;
            }

            if (i == start)
            {
                return false;
            }

            value = (value << 8) | octet;
            octets++;
            if (octets < Length)
            {
                if (i >= text.Length || text[i] is not (':' or '-'))
                {
                    return false;
                }

                i++;
            }
        }

        if (i != text.Length)
        {
            return false;
        }

        address = new MacAddress(value);
        return true;
    }

    public override string ToString() =>
        string.Create(17, _value, static (chars, v) =>
        {
            for (var k = 0; k < Length; k++)
            {
                var octet = (byte)(v >> (40 - (8 * k)));
                chars[k * 3] = HexDigit(octet >> 4);
                chars[(k * 3) + 1] = HexDigit(octet & 0xF);
                if (k < Length - 1)
                {
                    chars[(k * 3) + 2] = ':';
                }
            }
        });

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static char HexDigit(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
}
