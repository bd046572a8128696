using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>
/// View over a TFTP packet (RFC 1350, RFC 2347). <see cref="TryCreate"/> needs the 4 bytes every
/// valid packet has (opcode plus block/error code, or opcode plus at least "x\0" of a request);
/// request strings are read with <see cref="TftpStringReader"/> from <see cref="RequestStrings"/>.
/// </summary>
public readonly ref struct TftpPacket
{
    public const int HeaderLength = 4;
    public const ushort ServerPort = 69;
    public const int DefaultBlockSize = 512;

    private readonly Span<byte> _b;

    private TftpPacket(Span<byte> buffer) => _b = buffer;

    public static TftpPacket CreateUnchecked(Span<byte> buffer) => new(buffer);

    public static bool TryCreate(Span<byte> buffer, out TftpPacket packet)
    {
        packet = new TftpPacket(buffer);
        return buffer.Length >= HeaderLength;
    }

    public Span<byte> Bytes => _b;

    public TftpOpcode Opcode
    {
        get => (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(_b);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b, (ushort)value);
    }

    /// <summary>DATA and ACK: the block number.</summary>
    public ushort BlockNumber
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], value);
    }

    /// <summary>ERROR: the error code.</summary>
    public TftpErrorCode ErrorCode
    {
        get => (TftpErrorCode)BinaryPrimitives.ReadUInt16BigEndian(_b[2..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_b[2..], (ushort)value);
    }

    /// <summary>DATA: the block's bytes.</summary>
    public Span<byte> Data => _b[HeaderLength..];

    /// <summary>ERROR: the message up to its NUL (or the end).</summary>
    public ReadOnlySpan<byte> ErrorMessage
    {
        get
        {
            var m = _b[HeaderLength..];
            var nul = m.IndexOf((byte)0);
            return nul < 0 ? m : m[..nul];
        }
    }

    /// <summary>RRQ/WRQ/OACK: the NUL-terminated strings after the opcode.</summary>
    public TftpStringReader RequestStrings => new(_b[2..]);

    public static int WriteData(Span<byte> buffer, ushort block, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)TftpOpcode.Data);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], block);
        data.CopyTo(buffer[HeaderLength..]);
        return HeaderLength + data.Length;
    }

    public static int WriteAck(Span<byte> buffer, ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)TftpOpcode.Ack);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], block);
        return HeaderLength;
    }

    /// <summary>Writes ERROR with an ASCII message and its NUL; the message is cut to fit.</summary>
    public static int WriteError(Span<byte> buffer, TftpErrorCode code, ReadOnlySpan<char> message)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)TftpOpcode.Error);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)code);
        var n = Math.Min(message.Length, buffer.Length - HeaderLength - 1);
        for (var i = 0; i < n; i++)
        {
            buffer[HeaderLength + i] = message[i] < 0x80 ? (byte)message[i] : (byte)'?';
        }

        buffer[HeaderLength + n] = 0;
        return HeaderLength + n + 1;
    }

    /// <summary>Appends an ASCII string and its NUL at <paramref name="offset"/> (OACK bodies); returns the new offset.</summary>
    public static int AppendString(Span<byte> buffer, int offset, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            buffer[offset++] = c < 0x80 ? (byte)c : (byte)'?';
        }

        buffer[offset++] = 0;
        return offset;
    }
}
