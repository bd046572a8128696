using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.Backends.VirtioNet;

/// <summary>
/// Does what a NIC does for VIRTIO_NET_HDR_F_NEEDS_CSUM: sums the frame from csum_start to its end
/// (the field already holds the pseudo-header sum the sender left there) and stores the
/// complement at csum_start + csum_offset. Also fills the transport checksum of a frame a device
/// vouched for with VIRTIO_NET_HDR_F_DATA_VALID, for a peer that checks it.
/// </summary>
public static class ChecksumCompletion
{
    /// <summary>Completes the checksum in place; false when the offsets do not fit the frame (leave it as is).</summary>
    public static bool Complete(Span<byte> frame, int csumStart, int csumOffset)
    {
        var field = csumStart + csumOffset;
        if (csumStart < 0 || field + 2 > frame.Length)
        {
            return false;
        }

        var sum = Checksum.Add(0, frame[csumStart..]);
        var value = Checksum.Finish(sum);

        // UDP says 0 means "no checksum"; a computed 0 is sent as all ones (RFC 768). For TCP the
        // two are the same number in ones' complement, so this is harmless there too.
        if (value == 0)
        {
            value = 0xffff;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame[field..], value);
        return true;
    }

    /// <summary>
    /// Fills the TCP or UDP checksum of an Ethernet frame (IPv4 or IPv6, one VLAN tag at most) from
    /// scratch; false, the frame untouched, for anything else (another protocol, an IPv4 fragment,
    /// IPv6 extension headers, a truncated header, a UDP-over-IPv4 datagram sent without a checksum).
    /// </summary>
    /// <remarks>
    /// A device that sets DATA_VALID says the checksum needs no checking, and may leave it empty:
    /// passt's vhost-user back-end sends TCP with a zero checksum, since a Linux guest takes
    /// DATA_VALID as CHECKSUM_UNNECESSARY. A peer without virtio-net headers (a tap without
    /// vnet_hdr, a socket) never sees the flag, so the frame must carry a checksum that verifies.
    /// </remarks>
    public static bool FillTransport(Span<byte> frame)
    {
        if (!EthernetFrame.TryCreate(frame, out var ethernet) || !ethernet.TryGetCarried(out var etherType, out var offset))
        {
            return false;
        }

        var l3 = frame[offset..];

        if (etherType == EtherType.Ipv4 && Ipv4Packet.TryCreate(l3, out var ip4) && !ip4.IsFragment)
        {
            switch (ip4.Protocol)
            {
                case IpProtocol.Tcp when TcpPacket.TryCreate(ip4.Payload, out var tcp):
                    tcp.FillChecksum(ip4.Source, ip4.Destination);
                    return true;
                case IpProtocol.Udp when UdpPacket.TryCreate(ip4.Payload, out var udp) && udp.Checksum != 0:
                    udp.FillChecksum(ip4.Source, ip4.Destination);
                    return true;
                default:
                    return false;
            }
        }

        if (etherType == EtherType.Ipv6 && Ipv6Packet.TryCreate(l3, out var ip6))
        {
            switch (ip6.NextHeader)
            {
                case IpProtocol.Tcp when TcpPacket.TryCreate(ip6.Payload, out var tcp):
                    tcp.FillChecksum(ip6.Source, ip6.Destination);
                    return true;
                case IpProtocol.Udp when UdpPacket.TryCreate(ip6.Payload, out var udp):
                    udp.FillChecksum(ip6.Source, ip6.Destination);
                    return true;
                default:
                    return false;
            }
        }

        return false;
    }
}
