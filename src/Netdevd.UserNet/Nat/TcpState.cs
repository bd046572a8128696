namespace Netdevd.UserNet.Nat;

/// <summary>
/// The guest-facing TCP state (RFC 793 names). netdevd is the guest's peer: for a connection the
/// guest opens it is the passive side (SYN-RECEIVED first; the SYN-ACK waits until the host socket
/// has connected, so a refused connection becomes a RST like libslirp's); for a host forward it is
/// the active side (SYN-SENT).
/// </summary>
public enum TcpState
{
    /// <summary>Freed or aborted: the flow is removed at the next sweep.</summary>
    Closed,

    /// <summary>We sent a SYN to the guest (host forward) and wait for its SYN-ACK.</summary>
    SynSent,

    /// <summary>The guest's SYN arrived; our SYN-ACK is sent once the host side connected.</summary>
    SynReceived,

    Established,

    /// <summary>Our FIN (the host closed) is sent, not yet acknowledged; the guest may still send.</summary>
    FinWait1,

    /// <summary>Our FIN is acknowledged; waiting for the guest's FIN.</summary>
    FinWait2,

    /// <summary>The guest sent FIN (half-close); host data still flows to the guest.</summary>
    CloseWait,

    /// <summary>Both sent FIN at once; waiting for the ACK of ours.</summary>
    Closing,

    /// <summary>The guest closed first, then we sent FIN; waiting for its ACK.</summary>
    LastAck,

    /// <summary>Both directions closed; kept briefly (bounded) to answer a retransmitted FIN.</summary>
    TimeWait,
}
