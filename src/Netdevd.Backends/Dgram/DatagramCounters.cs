namespace Netdevd.Backends.Dgram;

/// <summary>
/// What a datagram netdev counts beyond <see cref="Core.Clients.NetClient.Stats"/>: the frames the
/// socket side refused or lost. Plain fields, each written by one thread (receive counters by the
/// poll thread, send counters under the client's lock); readers see recent values. A backend with
/// verdicts of its own (l2tpv3) adds them in a subclass.
/// </summary>
public class DatagramCounters
{
    /// <summary>Datagrams read from the socket and handed to the peer.</summary>
    public long Received { get; internal set; }

    /// <summary>Datagrams read that carried an empty frame, dropped.</summary>
    public long DroppedEmpty { get; internal set; }

    /// <summary>Datagrams larger than the receive slot (69632 bytes: a frame, or any IP datagram), dropped rather than cut.</summary>
    public long DroppedTruncated { get; internal set; }

    /// <summary>recvmmsg failures other than EAGAIN (e.g. a pending ICMP error on a connected socket, which recvmmsg returns first).</summary>
    public long ReceiveErrors { get; internal set; }

    /// <summary>The kernel's own count of datagrams it dropped for this socket (full receive buffer), via SO_RXQ_OVFL.</summary>
    public long KernelDropped { get; internal set; }

    /// <summary>Frames written as datagrams.</summary>
    public long Sent { get; internal set; }

    /// <summary>Frames too large for one datagram with any header (EMSGSIZE: over 65507 bytes on IPv4 UDP), dropped.</summary>
    public long DroppedOversize { get; internal set; }

    /// <summary>Zero-length frames from the peer, not sent (they would make a QEMU peer stop reading).</summary>
    public long DroppedEmptySend { get; internal set; }

    /// <summary>Frames the socket refused for another reason (ECONNREFUSED, ENOENT, EINVAL...), dropped.</summary>
    public long SendErrors { get; internal set; }

    /// <summary>Pending socket errors read (SO_ERROR, or an entry of the error queue with IP_RECVERR): ICMP unreachable and the like.</summary>
    public long SocketErrors { get; internal set; }

    /// <summary>Times the socket kept reporting an error or hang-up that reading does not clear, and polling it was paused.</summary>
    public long ErrorPauses { get; internal set; }
}
