namespace Netdevd.UserNet.Nat;

/// <summary>
/// Bounds on what one guest can make the host hold (DESIGN.md: bounded everything). A new flow
/// beyond a limit is refused (TCP: RST; UDP/ICMP: dropped) and counted.
/// </summary>
public sealed record NatLimits
{
    public int MaxTcpFlows { get; init; } = 1024;

    public int MaxUdpFlows { get; init; } = 512;

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

    public TcpSettings Tcp { get; init; } = new();
}
