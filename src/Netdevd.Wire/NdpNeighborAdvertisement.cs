namespace Netdevd.Wire;

/// <summary>Neighbor Advertisement (RFC 4861 4.4).</summary>
public readonly ref struct NdpNeighborAdvertisement
{
    public const int HeaderLength = 24;

    private readonly Span<byte> _b;

    private NdpNeighborAdvertisement(Span<byte> icmp) => _b = icmp;

    public static bool TryCreate(Span<byte> icmp, out NdpNeighborAdvertisement message)
    {
        message = new NdpNeighborAdvertisement(icmp);
        return icmp.Length >= HeaderLength;
    }

    public bool Router => (_b[4] & 0x80) != 0;

    public bool Solicited => (_b[4] & 0x40) != 0;

    public bool Override => (_b[4] & 0x20) != 0;

    public Ipv6Address Target => Ipv6Address.Read(_b[8..]);

    public Span<byte> Options => _b[HeaderLength..];

    /// <summary>Writes type 136 and the fixed part (checksum 0); returns <see cref="HeaderLength"/>.</summary>
    public static int Write(Span<byte> icmp, Ipv6Address target, bool router, bool solicited, bool @override)
    {
        icmp[..8].Clear();
        icmp[0] = Icmpv6Packet.TypeNeighborAdvertisement;
        icmp[4] = (byte)((router ? 0x80 : 0) | (solicited ? 0x40 : 0) | (@override ? 0x20 : 0));
        target.WriteTo(icmp[8..]);
        return HeaderLength;
    }
}
