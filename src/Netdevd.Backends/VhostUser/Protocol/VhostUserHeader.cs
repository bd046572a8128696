using System.Buffers.Binary;

namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// The 12-byte header in front of every vhost-user message: request, flags, payload size, each a
/// little-endian u32 (vhost-user.rst, "Message Specification").
/// </summary>
public readonly ref struct VhostUserHeader
{
    public const int Size = 12;

    /// <summary>Flags bits 0-1: the protocol version, always 1.</summary>
    public const uint VersionMask = 0x3;
    public const uint Version = 0x1;

    /// <summary>The message is a reply.</summary>
    public const uint ReplyFlag = 0x4;

    /// <summary>The sender wants a REPLY_ACK (when that protocol feature was negotiated).</summary>
    public const uint NeedReplyFlag = 0x8;

    /// <summary>
    /// The largest payload accepted. The biggest message netdevd takes is SET_MEM_TABLE with 8
    /// regions (8 + 8 * 32 bytes) or GET/SET_CONFIG (12 + 256); a page leaves room for messages
    /// we refuse by code without refusing them by size first.
    /// </summary>
    public const int MaxPayloadSize = 4096;

    private readonly ReadOnlySpan<byte> _bytes;

    private VhostUserHeader(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    public VhostUserRequest Request => (VhostUserRequest)BinaryPrimitives.ReadUInt32LittleEndian(_bytes);

    public uint Flags => BinaryPrimitives.ReadUInt32LittleEndian(_bytes[4..]);

    public uint PayloadSize => BinaryPrimitives.ReadUInt32LittleEndian(_bytes[8..]);

    public bool IsReply => (Flags & ReplyFlag) != 0;

    public bool NeedsReply => (Flags & NeedReplyFlag) != 0;

    public bool HasValidVersion => (Flags & VersionMask) == Version;

    /// <summary>Views the first <see cref="Size"/> bytes; false when fewer arrived.</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out VhostUserHeader header)
    {
        if (bytes.Length < Size)
        {
            header = default;
            return false;
        }

        header = new VhostUserHeader(bytes[..Size]);
        return true;
    }

    /// <summary>Writes a header into <paramref name="destination"/> (at least <see cref="Size"/> bytes).</summary>
    public static void Write(Span<byte> destination, VhostUserRequest request, uint flags, int payloadSize)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)request);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], flags | Version);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)payloadSize);
    }
}
