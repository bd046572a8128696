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
    UdpFlowLimit,
    IcmpFlowLimit,
    HostSocketFailed,
    IcmpUnavailable,
    OutputFull,

    /// <summary>
    /// A new flow, fragmented datagram or frame for the guest refused because the netdev's
    /// <see cref="MemoryBudget"/> was used up (see <see cref="Nat.NatLimits.MemoryLimit"/>).
    /// </summary>
    MemoryLimit,
}
