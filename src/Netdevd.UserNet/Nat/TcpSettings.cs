namespace Netdevd.UserNet.Nat;

/// <summary>Tunables of the guest-side TCP (sizes in bytes, times in milliseconds).</summary>
public sealed record TcpSettings
{
    /// <summary>Bytes buffered from the host towards the guest (until the guest acknowledges them).</summary>
    public int SendBufferSize { get; init; } = 512 * 1024;

    /// <summary>
    /// How far the send buffer grows, doubling, for a bulk flow whose host side fills it while
    /// the guest's window would take more (Linux grows a socket's buffers the same way): a 512 KiB
    /// ring kept a single host-to-guest stream at 14-15 Gbit/s at a 64 KiB MTU on a 2-core
    /// machine, 2 MiB brought it to 20-21 (4 MiB no further). Flows that never fill it stay small.
    /// </summary>
    public int MaxSendBufferSize { get; init; } = 2048 * 1024;

    /// <summary>Bytes buffered from the guest towards the host; our advertised window.</summary>
    public int ReceiveBufferSize { get; init; } = 512 * 1024;

    /// <summary>The MSS we announce to the guest: an IPv4 packet of 65535 bytes minus 40 (the guest clamps it to its MTU).</summary>
    public int AnnouncedMss { get; init; } = 65495;

    /// <summary>The largest segment we send whatever the guest announces (keeps frames within NET_BUFSIZE).</summary>
    public int MaxSegmentSize { get; init; } = 65495;

    /// <summary>
    /// The smallest guest MSS we honour: a smaller offer (down to 1) is raised to it, as libslirp's
    /// tcp_mss raises every offer to at least 32, so a guest cannot make us cut host data into
    /// one-byte segments (a frame per byte: 54 bytes of headers per byte of data).
    /// </summary>
    public int MinSegmentSize { get; init; } = 32;

    /// <summary>RFC 6298's initial RTO is 1 s.</summary>
    public int InitialRtoMs { get; init; } = 1000;

    /// <summary>Linux's TCP_RTO_MIN: the virtual link is fast, but guests delay ACKs up to 200 ms.</summary>
    public int MinRtoMs { get; init; } = 200;

    public int MaxRtoMs { get; init; } = 60_000;

    /// <summary>Retransmissions of one segment before the connection is given up (RST to the guest, host socket closed).</summary>
    public int MaxRetransmissions { get; init; } = 12;

    /// <summary>How long TIME-WAIT lasts; short, because only a lost last ACK needs it on a virtual link.</summary>
    public int TimeWaitMs { get; init; } = 2000;

    /// <summary>Give up a handshake the guest does not complete (SYN-SENT/SYN-RECEIVED) after this long.</summary>
    public int HandshakeTimeoutMs { get; init; } = 75_000;
}
