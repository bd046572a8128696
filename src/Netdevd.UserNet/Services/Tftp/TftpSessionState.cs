namespace Netdevd.UserNet.Services.Tftp;

/// <summary>
/// A read session's states. RRQ with options → <see cref="AwaitingOackAck"/> (OACK sent, waiting
/// for ACK 0); RRQ without → <see cref="Sending"/> (DATA n sent, waiting for ACK n). ACK of the
/// current block advances; ACK of the final (short) block → <see cref="Done"/> and the session is
/// removed; a client ERROR, too many retransmissions, or a new RRQ from the same port end it too.
/// Duplicate ACKs are ignored (RFC 1123 §4.2.3.1: no Sorcerer's Apprentice).
/// </summary>
public enum TftpSessionState
{
    AwaitingOackAck,
    Sending,
    Done,
}
