namespace Netdevd.Backends.Dgram;

/// <summary>
/// What a datagram netdev counts beyond <see cref="Core.Clients.NetClient.Stats"/>: the frames the
/// socket side refused or lost. Plain fields, each written by one thread (receive counters by the
/// poll thread, send counters under the client's lock); readers see recent values.
/// </summary>
public sealed class DatagramCounters
{
    /// <summary>Datagrams read from the socket and handed to the peer.</summary>
    public long Received { get; internal set; }

    /// <summary>Zero-length datagrams read and dropped.</summary>
    public long DroppedEmpty { get; internal set; }

    /// <summary>Datagrams larger than a frame may be (69632 bytes), dropped rather than cut.</summary>
    public long DroppedTruncated { get; internal set; }

    /// <summary>recvmmsg failures other than EAGAIN (e.g. a pending ICMP error on a connected socket).</summary>
    public long ReceiveErrors { get; internal set; }

    /// <summary>The kernel's own count of datagrams it dropped for this socket (full receive buffer), via SO_RXQ_OVFL.</summary>
    public long KernelDropped { get; internal set; }

    /// <summary>Frames written as datagrams.</summary>
    public long Sent { get; internal set; }

    /// <summary>Frames too large for one datagram (EMSGSIZE: over 65507 bytes on IPv4 UDP), dropped.</summary>
    public long DroppedOversize { get; internal set; }

    /// <summary>Zero-length frames from the peer, not sent (they would make a QEMU peer stop reading).</summary>
    public long DroppedEmptySend { get; internal set; }

    /// <summary>Frames the socket refused for another reason (ECONNREFUSED, ENOENT, EINVAL...), dropped.</summary>
    public long SendErrors { get; internal set; }
}
