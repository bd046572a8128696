using System.Buffers.Binary;

namespace Netdevd.Wire;

/// <summary>Router Advertisement (RFC 4861 4.2), with the RFC 4191 preference bits left zero (medium).</summary>
public readonly ref struct NdpRouterAdvertisement
{
    public const int HeaderLength = 16;

    private readonly Span<byte> _b;

    private NdpRouterAdvertisement(Span<byte> icmp) => _b = icmp;

    public static NdpRouterAdvertisement CreateUnchecked(Span<byte> icmp) => new(icmp);

    public static bool TryCreate(Span<byte> icmp, out NdpRouterAdvertisement message)
    {
        message = new NdpRouterAdvertisement(icmp);
        return icmp.Length >= HeaderLength;
    }

    public byte CurrentHopLimit => _b[4];

    /// <summary>M: addresses from DHCPv6.</summary>
    public bool Managed => (_b[5] & 0x80) != 0;

    /// <summary>O: other configuration (DNS...) from stateless DHCPv6.</summary>
    public bool OtherConfiguration => (_b[5] & 0x40) != 0;

    /// <summary>Seconds this router is a default router (0: not one).</summary>
    public ushort RouterLifetime => BinaryPrimitives.ReadUInt16BigEndian(_b[6..]);

    public uint ReachableTime => BinaryPrimitives.ReadUInt32BigEndian(_b[8..]);

    public uint RetransTimer => BinaryPrimitives.ReadUInt32BigEndian(_b[12..]);

    public Span<byte> Options => _b[HeaderLength..];

    /// <summary>Writes type 134 and the fixed part (checksum 0); returns <see cref="HeaderLength"/>.</summary>
    public static int Write(Span<byte> icmp, byte currentHopLimit, bool managed, bool other, ushort routerLifetime, uint reachableTime, uint retransTimer)
    {
        icmp[0] = Icmpv6Packet.TypeRouterAdvertisement;
        icmp[1] = 0;
        icmp[2] = 0;
        icmp[3] = 0;
        icmp[4] = currentHopLimit;
        icmp[5] = (byte)((managed ? 0x80 : 0) | (other ? 0x40 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], routerLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(icmp[8..], reachableTime);
        BinaryPrimitives.WriteUInt32BigEndian(icmp[12..], retransTimer);
        return HeaderLength;
    }
}
