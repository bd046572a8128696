using Netdevd.Wire;

namespace Netdevd.UserNet.Nat;

/// <summary>
/// A connection's tap side: the guest endpoint and the (possibly virtual) foreign endpoint it sees.
/// Also the key of the TCP flow table. Family-agnostic: an IPv4 flow holds its addresses as
/// IPv4-mapped IPv6 addresses (which never appear on an IPv6 wire: the stack drops such packets),
/// so one table and one connection type serve both families.
/// </summary>
public readonly record struct TcpFlowAddress(Ipv6Address Guest, ushort GuestPort, Ipv6Address Foreign, ushort ForeignPort)
{
    public TcpFlowAddress(Ipv4Address guest, ushort guestPort, Ipv4Address foreign, ushort foreignPort)
        : this(Ipv6Address.FromIpv4Mapped(guest), guestPort, Ipv6Address.FromIpv4Mapped(foreign), foreignPort)
    {
    }

    public bool IsIpv4 => Guest.IsIpv4Mapped;

    /// <summary>The guest's IPv4 address (IPv4 flows only).</summary>
    public Ipv4Address GuestAddress => Guest.ToIpv4Mapped();

    /// <summary>The foreign IPv4 address (IPv4 flows only).</summary>
    public Ipv4Address ForeignAddress => Foreign.ToIpv4Mapped();

    public override string ToString() => IsIpv4
        ? $"{GuestAddress}:{GuestPort} <-> {ForeignAddress}:{ForeignPort}"
        : $"[{Guest}]:{GuestPort} <-> [{Foreign}]:{ForeignPort}";
}
