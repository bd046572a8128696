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

    /// <summary>Too many fragmented datagrams in progress at once (see <see cref="Nat.NatLimits.MaxFragmentedDatagrams"/>).</summary>
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
}
