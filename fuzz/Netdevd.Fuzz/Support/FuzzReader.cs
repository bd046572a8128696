using System.Buffers.Binary;

namespace Netdevd.Fuzz.Support;

/// <summary>
/// Reads a fuzz input as a sequence of small fields and length-prefixed records. Running out
/// of input is normal: every read then yields zero or an empty span, so a harness never needs
/// to check lengths itself.
/// </summary>
internal ref struct FuzzReader(ReadOnlySpan<byte> input)
{
    private ReadOnlySpan<byte> _rest = input;

    public readonly bool IsAtEnd => _rest.IsEmpty;

    public readonly ReadOnlySpan<byte> Rest => _rest;

    public byte Byte()
    {
        if (_rest.IsEmpty)
        {
            return 0;
        }

        var b = _rest[0];
        _rest = _rest[1..];
        return b;
    }

    public ushort UInt16()
    {
        if (_rest.Length < 2)
        {
            _rest = default;
            return 0;
        }

        var v = BinaryPrimitives.ReadUInt16BigEndian(_rest);
        _rest = _rest[2..];
        return v;
    }

    /// <summary>A record: a 16-bit big-endian length, then that many bytes (fewer at the end of the input).</summary>
    public ReadOnlySpan<byte> Record()
    {
        var length = UInt16();
        var n = Math.Min(length, _rest.Length);
        var record = _rest[..n];
        _rest = _rest[n..];
        return record;
    }

    /// <summary>Everything left.</summary>
    public ReadOnlySpan<byte> TakeRest()
    {
        var rest = _rest;
        _rest = default;
        return rest;
    }
}
