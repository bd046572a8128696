using System.Buffers.Binary;
using System.Text;

namespace Netdevd.Wire;

/// <summary>
/// Appends DHCP options to a span. Every write checks the room left (keeping one byte for End) and
/// returns false without writing when the option does not fit, so a reply is never overrun.
/// </summary>
public ref struct DhcpOptionWriter
{
    private readonly Span<byte> _buffer;

    public DhcpOptionWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        Length = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    public bool Write(byte code, scoped ReadOnlySpan<byte> data)
    {
        if (data.Length > 255 || Length + 2 + data.Length + 1 > _buffer.Length)
        {
            return false;
        }

        _buffer[Length] = code;
        _buffer[Length + 1] = (byte)data.Length;
        data.CopyTo(_buffer[(Length + 2)..]);
        Length += 2 + data.Length;
        return true;
    }

    public bool WriteByte(byte code, byte value) => Write(code, [value]);

    public bool WriteUInt16(byte code, ushort value)
    {
        Span<byte> d = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(d, value);
        return Write(code, d);
    }

    public bool WriteUInt32(byte code, uint value)
    {
        Span<byte> d = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(d, value);
        return Write(code, d);
    }

    public bool WriteAddress(byte code, Ipv4Address address) => WriteUInt32(code, address.Value);

    /// <summary>Writes text as its UTF-8 bytes (no NUL); text longer than 255 bytes does not fit an option.</summary>
    public bool WriteString(byte code, string text)
    {
        Span<byte> d = stackalloc byte[255];
        return Encoding.UTF8.TryGetBytes(text, d, out var n) && Write(code, d[..n]);
    }

    /// <summary>Writes End; returns false when there is no room (which <see cref="Write"/> prevents).</summary>
    public bool WriteEnd()
    {
        if (Length >= _buffer.Length)
        {
            return false;
        }

        _buffer[Length++] = DhcpOption.End;
        return true;
    }
}
