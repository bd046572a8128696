using Netdevd.Core.Clients;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// The guest-side neighbour table, bounded like libslirp's arp_table.c (16 entries, replaced
/// round-robin). Only unicast addresses of the virtual network are learnt; the broadcast address
/// always maps to ff:ff:ff:ff:ff:ff.
/// </summary>
public sealed class ArpTable
{
    public const int DefaultCapacity = 16;

    private readonly Ipv4Address[] _ips;
    private readonly MacAddress[] _macs;
    private readonly Ipv4Address _network;
    private readonly Ipv4Address _netmask;
    private int _count;
    private int _next;

    public ArpTable(Ipv4Address network, Ipv4Address netmask, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ips = new Ipv4Address[capacity];
        _macs = new MacAddress[capacity];
        _network = network;
        _netmask = netmask;
    }

    public int Count => _count;

    /// <summary>The table and its entries (looked up for every frame to the guest).</summary>
    public void CollectHot(HotObjects hot)
    {
        hot.Add(this);
        hot.Add(_ips);
        hot.Add(_macs);
    }

    /// <summary>Adds or refreshes an entry; ignores 0.0.0.0, broadcast and off-network addresses.</summary>
    public void Add(Ipv4Address ip, MacAddress mac)
    {
        var hostPart = ip.Value & ~_netmask.Value;
        if (ip.IsAny || ip.IsBroadcast || !ip.IsInNetwork(_network, _netmask) || hostPart == 0 || hostPart == ~_netmask.Value ||
            !mac.IsUnicast || mac.IsZero)
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

    public bool TryLookup(Ipv4Address ip, out MacAddress mac)
    {
        if (ip.IsBroadcast || (ip.Value | _netmask.Value) == 0xFFFF_FFFF)
        {
            mac = MacAddress.Broadcast;
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
}
