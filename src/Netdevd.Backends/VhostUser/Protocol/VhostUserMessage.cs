namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>
/// One whole message: the header and exactly the payload it announces. <see cref="TryParse"/>
/// refuses a short buffer, a wrong version and an oversized payload, so the payload views below
/// only ever see their own bytes.
/// </summary>
public readonly ref struct VhostUserMessage
{
    private VhostUserMessage(VhostUserHeader header, ReadOnlySpan<byte> payload)
    {
        Header = header;
        Payload = payload;
    }

    public VhostUserHeader Header { get; }

    public ReadOnlySpan<byte> Payload { get; }

    public VhostUserRequest Request => Header.Request;

    /// <summary>The message at the start of <paramref name="bytes"/>; <paramref name="length"/> is its full size.</summary>
    public static VhostUserParseStatus TryParse(ReadOnlySpan<byte> bytes, out VhostUserMessage message, out int length)
    {
        message = default;
        length = 0;
        if (!VhostUserHeader.TryRead(bytes, out var header))
        {
            return VhostUserParseStatus.Truncated;
        }

        if (!header.HasValidVersion)
        {
            return VhostUserParseStatus.BadVersion;
        }

        if (header.PayloadSize > VhostUserHeader.MaxPayloadSize)
        {
            return VhostUserParseStatus.Oversized;
        }

        var size = (int)header.PayloadSize;
        if (bytes.Length - VhostUserHeader.Size < size)
        {
            return VhostUserParseStatus.Truncated;
        }

        message = new VhostUserMessage(header, bytes.Slice(VhostUserHeader.Size, size));
        length = VhostUserHeader.Size + size;
        return VhostUserParseStatus.Complete;
    }
}
