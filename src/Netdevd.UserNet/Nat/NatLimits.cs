namespace Netdevd.UserNet.Nat;

/// <summary>
/// Bounds on what one guest can make the host hold (DESIGN.md: bounded everything). A new flow
/// beyond a limit is refused (TCP: RST; ICMP: dropped) and counted; a new UDP flow takes the place
/// of the one idle longest (as a NAT does), also counted.
/// </summary>
public sealed record NatLimits
{
    private readonly int? _maxUdpForwardFlows;
    private readonly int? _maxTcpForwardFlows;

    /// <summary>
    /// All TCP flows: the guest's own and the host forwards' connections. A new flow past it is
    /// refused (the guest's with a RST, a forward's client closed) unless a TIME_WAIT flow gives way.
    /// </summary>
    public int MaxTcpFlows { get; init; } = 1024;

    /// <summary>
    /// How many of <see cref="MaxTcpFlows"/> the host forwards' connections may hold (default:
    /// half). A client past it is refused (counted), so clients of a published port, however
    /// many connections they open and keep, never take the guest's own outbound TCP away.
    /// </summary>
    public int MaxTcpForwardFlows
    {
        get => _maxTcpForwardFlows ?? Math.Max(1, MaxTcpFlows / 2);
        init => _maxTcpForwardFlows = value;
    }

    /// <summary>
    /// All UDP flows with a host socket or a host client: the guest's own (both families) and the
    /// UDP host forwards' clients. A new flow of the guest's when all are taken closes the guest's
    /// flow idle longest (never a forward's: see <see cref="MaxUdpForwardFlows"/>).
    /// </summary>
    public int MaxUdpFlows { get; init; } = 512;

    /// <summary>
    /// How many of <see cref="MaxUdpFlows"/> the UDP host forwards' clients may hold (default:
    /// half). A new client past it, or when the guest's flows hold the rest, closes the forward
    /// flow idle longest: host clients, however many source ports they take (a resolver takes one
    /// per query), never push out the guest's own flows, and the forward keeps serving.
    /// </summary>
    public int MaxUdpForwardFlows
    {
        get => _maxUdpForwardFlows ?? Math.Max(1, MaxUdpFlows / 2);
        init => _maxUdpForwardFlows = value;
    }

    public int MaxIcmpFlows { get; init; } = 64;

    /// <summary>libslirp's SO_EXPIRE: a UDP flow with no traffic is closed after this long.</summary>
    public int UdpIdleTimeoutMs { get; init; } = 240_000;

    /// <summary>libslirp's SO_EXPIREFAST, for flows to port 53.</summary>
    public int UdpDnsIdleTimeoutMs { get; init; } = 10_000;

    public int IcmpIdleTimeoutMs { get; init; } = 10_000;

    /// <summary>Fragmented datagrams reassembled at once; more are dropped and counted.</summary>
    public int MaxFragmentedDatagrams { get; init; } = 16;

    /// <summary>How long the pieces of one datagram may take to arrive (Linux's ipfrag_time).</summary>
    public int FragmentTimeoutMs { get; init; } = 30_000;

    /// <summary>
    /// The default <see cref="MemoryLimit"/>: 128 MiB. A TCP flow at full speed holds two 512 KiB
    /// rings (a window of 512 KiB keeps a multi-Gbit/s virtual link busy), so half the budget lets
    /// 64 flows run at full speed at once and the next quarter still admits 2048 flows with small
    /// windows (more than <see cref="MaxTcpFlows"/>); the last quarter is reassembly and queued
    /// frames. QEMU's libslirp has no such bound at all.
    /// </summary>
    public const long DefaultMemoryLimit = 128L * 1024 * 1024;

    /// <summary>
    /// Bytes the netdev may hold for its guest: all TCP flows' buffers, IPv4 reassembly and frames
    /// queued for the guest (daemon option <c>--user-memory-limit</c>). When it is used up, new
    /// flows get small buffers, then are refused (TCP: RST), and are counted; existing flows keep
    /// working.
    /// </summary>
    public long MemoryLimit { get; init; } = DefaultMemoryLimit;

    /// <summary>
    /// Each ring of a TCP flow opened once full-size buffers no longer fit the budget: 16 KiB, a
    /// window of eleven 1460-byte segments (slow, but an interactive flow does not notice).
    /// </summary>
    public int MinTcpBufferSize { get; init; } = 16 * 1024;

    public TcpSettings Tcp { get; init; } = new();
}
