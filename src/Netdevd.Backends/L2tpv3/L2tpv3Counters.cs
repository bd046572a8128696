namespace Netdevd.Backends.L2tpv3;

/// <summary>
/// What an l2tpv3 netdev counts beyond <see cref="Core.Clients.NetClient.Stats"/>. Receive
/// counters are written by the poll thread, send counters under the client's lock.
/// </summary>
public sealed class L2tpv3Counters
{
    /// <summary>Frames taken out of datagrams and handed to the peer.</summary>
    public long Received { get; internal set; }

    /// <summary>Datagrams whose session id was not rxsession (dropped).</summary>
    public long SessionMismatches { get; internal set; }

    /// <summary>Datagrams whose cookie was not rxcookie (dropped).</summary>
    public long CookieMismatches { get; internal set; }

    /// <summary>Datagrams with no frame after the header (dropped).</summary>
    public long DroppedShort { get; internal set; }

    /// <summary>Datagrams larger than the receive slot (64 KiB), dropped rather than cut (QEMU cuts at 16 KiB).</summary>
    public long DroppedTruncated { get; internal set; }

    /// <summary>recvmmsg failures other than EAGAIN.</summary>
    public long ReceiveErrors { get; internal set; }

    /// <summary>The kernel's count of datagrams it dropped on this socket (full receive buffer).</summary>
    public long KernelDropped { get; internal set; }

    /// <summary>Frames sent in a datagram.</summary>
    public long Sent { get; internal set; }

    /// <summary>Frames too large for one datagram with the header (EMSGSIZE), dropped.</summary>
    public long DroppedOversize { get; internal set; }

    /// <summary>Frames the socket refused for another reason, dropped.</summary>
    public long SendErrors { get; internal set; }
}
