namespace Netdevd.Wire;

/// <summary>Neighbor Solicitation (RFC 4861 4.3).</summary>
public readonly ref struct NdpNeighborSolicitation
{
    public const int HeaderLength = 24;

    private readonly Span<byte> _b;

    private NdpNeighborSolicitation(Span<byte> icmp) => _b = icmp;

    public static bool TryCreate(Span<byte> icmp, out NdpNeighborSolicitation message)
    {
        message = new NdpNeighborSolicitation(icmp);
        return icmp.Length >= HeaderLength;
    }

    public Ipv6Address Target => Ipv6Address.Read(_b[8..]);

    public Span<byte> Options => _b[HeaderLength..];

    /// <summary>Writes type 135 and the fixed part (checksum 0); returns <see cref="HeaderLength"/>.</summary>
    public static int Write(Span<byte> icmp, Ipv6Address target)
    {
        icmp[..8].Clear();
        icmp[0] = Icmpv6Packet.TypeNeighborSolicitation;
        target.WriteTo(icmp[8..]);
        return HeaderLength;
    }
}
