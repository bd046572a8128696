namespace Netdevd.UserNet.Interface;

/// <summary>Why a guest frame or a flow was refused; each reason has its own counter.</summary>
public enum FrameDropReason
{
    Malformed,
    BadChecksum,
    NotForUs,
    UnsupportedEtherType,
    UnsupportedProtocol,

    /// <summary>IPv4 fragments: not reassembled by this stack (guests use path MTU discovery; DF is the norm).</summary>
    Fragment,
    Restricted,
    TcpFlowLimit,
    UdpFlowLimit,
    IcmpFlowLimit,
    HostSocketFailed,
    IcmpUnavailable,
    OutputFull,
}
