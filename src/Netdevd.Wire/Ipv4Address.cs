using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Netdevd.Wire;

/// <summary>
/// An IPv4 address as a host-order <see cref="uint"/> (10.0.2.2 is 0x0A000202), so that
/// masks and offsets are plain integer arithmetic; bytes on the wire are always big-endian.
/// </summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    public const int Length = 4;

    public static Ipv4Address Any { get; } = new(0);

    public static Ipv4Address Broadcast { get; } = new(0xFFFF_FFFF);

    public static Ipv4Address Loopback { get; } = new(0x7F00_0001);

    public bool IsAny => Value == 0;

    public bool IsBroadcast => Value == 0xFFFF_FFFF;

    public bool IsLoopback => (Value >> 24) == 127;

    public bool IsMulticast => (Value >> 28) == 0xE;

    public static Ipv4Address Create(byte a, byte b, byte c, byte d) =>
        new(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d);

    /// <summary>Reads four big-endian octets; the span must hold at least <see cref="Length"/> bytes.</summary>
    public static Ipv4Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    public void WriteTo(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    /// <summary>A prefix length 0..32 as a mask (24 -> 255.255.255.0).</summary>
    public static Ipv4Address MaskFromPrefix(int prefixLength) =>
        new(prefixLength <= 0 ? 0 : prefixLength >= 32 ? 0xFFFF_FFFF : ~(0xFFFF_FFFFu >> prefixLength));

    public bool IsInNetwork(Ipv4Address network, Ipv4Address mask) => (Value & mask.Value) == (network.Value & mask.Value);

    public Ipv4Address And(Ipv4Address mask) => new(Value & mask.Value);

    /// <summary>Strict dotted quad (four decimal octets 0..255); for QEMU's lenient form see <c>InetAton</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Ipv4Address address)
    {
        address = default;
        if (text is null)
        {
            return false;
        }

        uint value = 0;
        var i = 0;
        for (var part = 0; part < 4; part++)
        {
            if (part > 0)
            {
                if (i >= text.Length || text[i] != '.')
                {
                    return false;
                }

                i++;
            }

            var start = i;
            uint octet = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]) && i - start < 3)
            {
                octet = (octet * 10) + (uint)(text[i] - '0');
                i++;
            }

            if (i == start || octet > 255)
            {
                return false;
            }

            value = (value << 8) | octet;
        }

        if (i != text.Length)
        {
            return false;
        }

        address = new Ipv4Address(value);
        return true;
    }

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    public static bool operator <(Ipv4Address left, Ipv4Address right) => left.Value < right.Value;

    public static bool operator <=(Ipv4Address left, Ipv4Address right) => left.Value <= right.Value;

    public static bool operator >(Ipv4Address left, Ipv4Address right) => left.Value > right.Value;

    public static bool operator >=(Ipv4Address left, Ipv4Address right) => left.Value >= right.Value;

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
