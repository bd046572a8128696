namespace Netdevd.Backends.VhostUser.Protocol;

/// <summary>What <see cref="VhostUserMessage.TryParse"/> found.</summary>
public enum VhostUserParseStatus
{
    Complete,

    /// <summary>Fewer bytes than the header or its payload size: read more (or, at end of stream, a broken peer).</summary>
    Truncated,

    /// <summary>Flags do not carry version 1: not a vhost-user peer, close.</summary>
    BadVersion,

    /// <summary>Payload size above <see cref="VhostUserHeader.MaxPayloadSize"/>: hostile or broken, close.</summary>
    Oversized,
}
