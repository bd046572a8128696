using Netdevd.Wire;

namespace Netdevd.Backends.VirtioNet;

/// <summary>
/// Turns a frame that relies on virtio-net offloads into frames anyone can take, for a peer that
/// does not speak virtio-net headers: completes a partial checksum (NEEDS_CSUM), and splits a
/// TCP (IPv4/IPv6) or UDP-L4 GSO super-frame into gso_size segments with their own IP lengths,
/// IPv4 ids and header checksums, TCP sequence numbers and flags, and L4 checksums, as the
/// kernel's software GSO would. UFO (IP fragmentation) is not done: such frames are dropped.
/// No allocation: segments are built one at a time in a caller's scratch buffer.
/// </summary>
public static class SoftwareOffload
{
    /// <summary>
    /// Resolves <paramref name="frame"/> (the Ethernet frame after the header) as
    /// <paramref name="header"/> asks and hands the result to <paramref name="sink"/>.
    /// <paramref name="frame"/> may be modified in place; <paramref name="scratch"/> must hold
    /// the largest segment (headers + gso_size).
    /// </summary>
    public static OffloadOutcome Resolve(in VirtioNetHeader header, Span<byte> frame, Span<byte> scratch, ISegmentSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (!header.IsGso || header.GsoSize == 0)
        {
            if (!header.NeedsChecksum)
            {
                sink.OnSegment(frame);
                return OffloadOutcome.Unchanged;
            }

            if (!ChecksumCompletion.Complete(frame, header.CsumStart, header.CsumOffset))
            {
                return OffloadOutcome.Dropped;
            }

            sink.OnSegment(frame);
            return OffloadOutcome.ChecksumCompleted;
        }

        return Segment(header, frame, scratch, sink) ? OffloadOutcome.Segmented : OffloadOutcome.Dropped;
    }

    private static bool Segment(in VirtioNetHeader header, Span<byte> frame, Span<byte> scratch, ISegmentSink sink)
    {
        var kind = header.GsoKind;
        if (kind is not (VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6 or VirtioNetHeader.GsoUdpL4)
            || !EthernetFrame.TryCreate(frame, out var ethernet) || !ethernet.TryGetCarried(out var etherType, out var l3))
        {
            return false;
        }

        bool ipv6;
        int l4;
        if (etherType == EtherType.Ipv4 && frame.Length >= l3 + Ipv4Packet.MinimumHeaderLength)
        {
            ipv6 = false;
            l4 = l3 + Ipv4Packet.CreateUnchecked(frame[l3..]).HeaderLength;
        }
        else if (etherType == EtherType.Ipv6 && frame.Length >= l3 + Ipv6Packet.HeaderLength)
        {
            ipv6 = true;
            l4 = l3 + Ipv6Packet.HeaderLength;
        }
        else
        {
            return false;
        }

        // Extension headers lie between the fixed header and the transport header; the sender's
        // csum_start says where the transport header begins.
        if (header.NeedsChecksum && header.CsumStart > l3)
        {
            l4 = header.CsumStart;
        }

        // Each segment gets a whole IP header and TCP/UDP header rewritten: a frame whose headers
        // are shorter (IHL or TCP data offset below 5, a csum_start inside the IP header) is dropped.
        var udp = kind == VirtioNetHeader.GsoUdpL4;
        var minimumL4 = udp ? UdpPacket.HeaderLength : TcpPacket.MinimumHeaderLength;
        if (l4 < l3 + (ipv6 ? Ipv6Packet.HeaderLength : Ipv4Packet.MinimumHeaderLength) || frame.Length < l4 + minimumL4)
        {
            return false;
        }

        var headers = l4 + (udp ? UdpPacket.HeaderLength : TcpPacket.CreateUnchecked(frame[l4..]).HeaderLength);
        var mss = (int)header.GsoSize;
        if (headers < l4 + minimumL4 || headers > frame.Length || headers + mss > scratch.Length)
        {
            return false;
        }

        var payload = frame[headers..];
        var ipId = ipv6 ? (ushort)0 : Ipv4Packet.CreateUnchecked(frame[l3..]).Identification;
        var seq = udp ? 0u : TcpPacket.CreateUnchecked(frame[l4..]).SequenceNumber;
        var protocol = udp ? IpProtocol.Udp : IpProtocol.Tcp;
        var index = 0;
        var offset = 0;
        do
        {
            var length = Math.Min(mss, payload.Length - offset);
            var segment = scratch[..(headers + length)];
            frame[..headers].CopyTo(segment);
            payload.Slice(offset, length).CopyTo(segment[headers..]);
            var transport = segment[l4..];
            uint sum;
            if (ipv6)
            {
                // The payload length counts extension headers too; the pseudo-header takes the transport's.
                var ip = Ipv6Packet.CreateUnchecked(segment[l3..]);
                ip.PayloadLength = (ushort)(segment.Length - l3 - Ipv6Packet.HeaderLength);
                sum = ip.PseudoHeaderSum(protocol, transport.Length);
            }
            else
            {
                var ip = Ipv4Packet.CreateUnchecked(segment[l3..]);
                ip.TotalLength = (ushort)(segment.Length - l3);
                ip.Identification = (ushort)(ipId + index);

                // Over the bytes up to the transport header, not the IHL: a hostile IHL may
                // reach past a short segment (csum_start decides where the header ends).
                ip.HeaderChecksum = 0;
                ip.HeaderChecksum = Checksum.Compute(segment[l3..l4]);
                sum = Checksum.PseudoHeader(ip.Source, ip.Destination, protocol, transport.Length);
            }

            if (udp)
            {
                var datagram = UdpPacket.CreateUnchecked(transport);
                datagram.Length = (ushort)transport.Length;
                datagram.Checksum = 0;
                var value = Checksum.Finish(Checksum.Add(sum, transport));

                // RFC 768: a computed zero goes out as all ones, since zero means "no checksum".
                datagram.Checksum = value == 0 ? (ushort)0xFFFF : value;
            }
            else
            {
                var tcp = TcpPacket.CreateUnchecked(transport);
                tcp.SequenceNumber = seq + (uint)offset;
                if (offset + length < payload.Length)
                {
                    tcp.Flags &= ~(TcpFlags.Fin | TcpFlags.Psh);
                }

                if (offset != 0)
                {
                    tcp.Flags &= ~TcpFlags.Cwr;
                }

                tcp.Checksum = 0;
                tcp.Checksum = Checksum.Finish(Checksum.Add(sum, transport));
            }

            sink.OnSegment(segment);
            offset += length;
            index++;
        }
        while (offset < payload.Length);

        return true;
    }
}
