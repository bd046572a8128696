using Netdevd.Wire;

namespace Netdevd.UserNet.Interface;

/// <summary>
/// The guest's IPv6 neighbours, beside the ARP table: bounded like libslirp's ndp_table.c (16
/// entries, replaced round-robin), learnt from the guest's NDP messages and traffic. Multicast and
/// unspecified addresses are never learnt; multicast destinations map to 33:33 (RFC 2464 7).
/// A lookup that misses is remembered so the owner can send one Neighbor Solicitation for it.
/// </summary>
public sealed class NdpTable
{
    public const int DefaultCapacity = 16;

    private readonly Ipv6Address[] _ips;
    private readonly MacAddress[] _macs;
    private int _count;
    private int _next;

    public NdpTable(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ips = new Ipv6Address[capacity];
        _macs = new MacAddress[capacity];
    }

    public int Count => _count;

    /// <summary>The last address that was looked up and not found, until <see cref="TakeMiss"/>.</summary>
    public Ipv6Address? PendingMiss { get; private set; }

    /// <summary>Adds or refreshes an entry; ignores multicast, unspecified and non-unicast MACs.</summary>
    public void Add(Ipv6Address ip, MacAddress mac)
    {
        if (ip.IsMulticast || ip.IsUnspecified || !mac.IsUnicast || mac.IsZero)
        {
            return;
        }

        for (var i = 0; i < _count; i++)
        {
            if (_ips[i] == ip)
            {
                _macs[i] = mac;
                return;
            }
        }

        if (PendingMiss == ip)
        {
            PendingMiss = null;
        }

        if (_count < _ips.Length)
        {
            _ips[_count] = ip;
            _macs[_count] = mac;
            _count++;
            return;
        }

        _ips[_next] = ip;
        _macs[_next] = mac;
        _next = (_next + 1) % _ips.Length;
    }

    /// <summary>The MAC for a destination: multicast computed, unicast from the table.</summary>
    public bool TryLookup(Ipv6Address ip, out MacAddress mac)
    {
        if (ip.IsMulticast)
        {
            mac = ip.MulticastMac;
            return true;
        }

        for (var i = 0; i < _count; i++)
        {
            if (_ips[i] == ip)
            {
                mac = _macs[i];
                return true;
            }
        }

        mac = default;
        return false;
    }

    /// <summary>
    /// The MAC to send to <paramref name="ip"/>. On a miss the frame goes to the address's
    /// solicited-node group (the guest's NIC listens there, and its stack takes a unicast datagram
    /// for its own address whatever the link destination), and the miss is kept for one
    /// solicitation, so later frames find the guest's own MAC.
    /// </summary>
    public MacAddress Resolve(Ipv6Address ip)
    {
        if (TryLookup(ip, out var mac))
        {
            return mac;
        }

        PendingMiss = ip;
        return ip.SolicitedNodeMulticast.MulticastMac;
    }

    public Ipv6Address? TakeMiss()
    {
        var miss = PendingMiss;
        PendingMiss = null;
        return miss;
    }
}
