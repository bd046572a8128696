namespace Netdevd.UserNet.Interface;

/// <summary>Why a guest frame or a flow was refused; each reason has its own counter.</summary>
public enum FrameDropReason
{
    Malformed,
    BadChecksum,
    NotForUs,
    UnsupportedEtherType,
    UnsupportedProtocol,

    /// <summary>IPv4 fragments that contradict each other or cannot form a datagram of at most 64 KiB.</summary>
    Fragment,

    /// <summary>
    /// An incomplete fragmented datagram evicted, oldest first, to make room for a new one (at most
    /// <see cref="Nat.NatLimits.MaxFragmentedDatagrams"/> are in progress at once).
    /// </summary>
    FragmentLimit,

    /// <summary>A fragmented datagram that did not complete in time.</summary>
    FragmentTimeout,
    Restricted,
    TcpFlowLimit,
    /// <summary>
    /// A new UDP flow refused: a forward's client while the guest's flows hold every slot the
    /// forwards' share leaves them, and no forward flow to give way.
    /// </summary>
    UdpFlowLimit,

    /// <summary>
    /// A UDP flow closed to make room for a new one: the guest's flow (either family) idle longest
    /// when all <see cref="Nat.NatLimits.MaxUdpFlows"/> were taken, or the forward's client idle
    /// longest when the forwards held their share (<see cref="Nat.NatLimits.MaxUdpForwardFlows"/>).
    /// </summary>
    UdpFlowEvicted,
    IcmpFlowLimit,
    HostSocketFailed,
    IcmpUnavailable,
    OutputFull,

    /// <summary>
    /// A new flow, fragmented datagram or frame for the guest refused because the netdev's
    /// <see cref="MemoryBudget"/> was used up (see <see cref="Nat.NatLimits.MemoryLimit"/>).
    /// </summary>
    MemoryLimit,

    /// <summary>
    /// An IPv6 datagram dropped for its extension headers: an option or routing type we must not
    /// skip, a hop-by-hop header out of place, or a chain longer than any real sender's.
    /// </summary>
    ExtensionHeader,

    /// <summary>An NDP message that fails RFC 4861's validity checks (hop limit 255, code 0, options), or one only routers send.</summary>
    InvalidNdp,

    /// <summary>
    /// A UDP datagram or echo request for the outside whose TTL (hop limit) ran out at the virtual
    /// router: answered with a time exceeded, as a router does (a traceroute's first hop).
    /// </summary>
    TimeExceeded,
}
