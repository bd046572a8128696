using Netdevd.Wire;

namespace Netdevd.UserNet.Services.Dns;

/// <summary>
/// Where an answer goes: the guest address and port that asked (from dns:53); a query to the
/// IPv6 DNS address carries the guest's IPv6 address in <see cref="Address6"/> instead.
/// </summary>
public readonly record struct DnsGuestEndpoint(Ipv4Address Address, ushort Port)
{
    public DnsGuestEndpoint(Ipv6Address address6, ushort port)
        : this(default(Ipv4Address), port)
    {
        Address6 = address6;
        IsIpv6 = true;
    }

    public Ipv6Address Address6 { get; }

    public bool IsIpv6 { get; }
}
