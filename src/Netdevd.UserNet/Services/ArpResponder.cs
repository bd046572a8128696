using System.Runtime.InteropServices;
using Netdevd.Core.Clients;
using Netdevd.Wire;

namespace Netdevd.UserNet.Services;

/// <summary>
/// Answers the guest's ARP requests for the virtual addresses (host, DNS, and any added with
/// <see cref="AddVirtualAddress"/>, e.g. guestfwd servers), and learns the sender of every ARP
/// packet into an <see cref="ArpTable"/>, as libslirp's arp_input does. Sans-IO: a frame in, maybe
/// a reply frame out.
/// </summary>
public sealed class ArpResponder
{
    /// <summary>libslirp sends its ARP replies as 64-byte zero-padded frames.</summary>
    public const int ReplyLength = 64;

    private readonly List<Ipv4Address> _virtual = [];
    private readonly Ipv4Address _network;
    private readonly Ipv4Address _netmask;

    public ArpResponder(Ipv4Address network, Ipv4Address netmask, ArpTable table, params ReadOnlySpan<Ipv4Address> virtualAddresses)
    {
        _network = network;
        _netmask = netmask;
        Table = table;
        foreach (var a in virtualAddresses)
        {
            _virtual.Add(a);
        }
    }

    public ArpTable Table { get; }

    /// <summary>Requests that were not for a virtual address (counted, not answered).</summary>
    public long Ignored { get; private set; }

    public void AddVirtualAddress(Ipv4Address address)
    {
        if (!IsVirtualAddress(address))
        {
            _virtual.Add(address);
        }
    }

    /// <summary>
    /// Checked for every frame to the stack: a plain loop over the few addresses, where
    /// <c>List.Contains</c> went through three generic calls (Array.IndexOf and its comparer)
    /// per frame.
    /// </summary>
    public bool IsVirtualAddress(Ipv4Address address)
    {
        foreach (var a in CollectionsMarshal.AsSpan(_virtual))
        {
            if (a.Value == address.Value)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The responder and its virtual addresses (checked for every frame the stack answers itself).</summary>
    public void CollectHot(HotObjects hot)
    {
        hot.Add(this);
        hot.Add(_virtual);
    }

    /// <summary>
    /// Handles one Ethernet frame carrying ARP. Returns the length of the reply written to
    /// <paramref name="reply"/> (at least <see cref="ReplyLength"/> bytes), or 0 for no reply.
    /// </summary>
    public int Handle(Span<byte> frame, Span<byte> reply)
    {
        if (!EthernetFrame.TryCreate(frame, out var eth) || eth.EtherType != EtherType.Arp ||
            !ArpPacket.TryCreate(eth.Payload, out var arp) || !arp.IsEthernetIpv4)
        {
            return 0;
        }

        var senderIp = arp.SenderProtocolAddress;
        var senderMac = arp.SenderHardwareAddress;
        var targetIp = arp.TargetProtocolAddress;
        Table.Add(senderIp, senderMac);

        // Gratuitous ARP (sender == target) and replies only teach us; nothing to answer.
        if (arp.Operation != ArpPacket.OperationRequest || senderIp == targetIp)
        {
            return 0;
        }

        if (!targetIp.IsInNetwork(_network, _netmask) || !IsVirtualAddress(targetIp))
        {
            Ignored++;
            return 0;
        }

        var mac = VirtualMac.For(targetIp);
        reply[..ReplyLength].Clear();
        EthernetFrame.WriteHeader(reply, senderMac, mac, EtherType.Arp);
        ArpPacket.Write(reply[EthernetFrame.HeaderLength..], ArpPacket.OperationReply, mac, targetIp, senderMac, senderIp);
        return ReplyLength;
    }
}
