using System.Buffers.Binary;

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
    private const int EthernetHeader = 14;
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeIpv6 = 0x86dd;
    private const ushort EtherTypeVlan = 0x8100;
    private const byte ProtoTcp = 6;
    private const byte ProtoUdp = 17;
    private const byte TcpFin = 0x01;
    private const byte TcpPsh = 0x08;
    private const byte TcpCwr = 0x80;

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

    private static bool Segment(in VirtioNetHeader header, ReadOnlySpan<byte> frame, Span<byte> scratch, ISegmentSink sink)
    {
        var kind = header.GsoKind;
        if (kind is not (VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6 or VirtioNetHeader.GsoUdpL4))
        {
            return false;
        }

        if (frame.Length < EthernetHeader)
        {
            return false;
        }

        var l3 = EthernetHeader;
        var etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (etherType == EtherTypeVlan)
        {
            if (frame.Length < EthernetHeader + 4)
            {
                return false;
            }

            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
            l3 += 4;
        }

        bool ipv6;
        int l4;
        if (etherType == EtherTypeIpv4 && frame.Length >= l3 + 20)
        {
            ipv6 = false;
            l4 = l3 + ((frame[l3] & 0x0f) * 4);
        }
        else if (etherType == EtherTypeIpv6 && frame.Length >= l3 + 40)
        {
            ipv6 = true;
            l4 = l3 + 40;
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
        if (l4 < l3 + (ipv6 ? 40 : 20) || frame.Length < l4 + (udp ? 8 : 20))
        {
            return false;
        }

        var headers = udp ? l4 + 8 : l4 + ((frame[l4 + 12] >> 4) * 4);
        var mss = (int)header.GsoSize;
        if (headers < l4 + (udp ? 8 : 20) || headers > frame.Length || headers + mss > scratch.Length)
        {
            return false;
        }

        var payload = frame[headers..];
        var ipId = ipv6 ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(frame[(l3 + 4)..]);
        var seq = udp ? 0u : BinaryPrimitives.ReadUInt32BigEndian(frame[(l4 + 4)..]);
        var protocol = udp ? ProtoUdp : ProtoTcp;
        var checksumField = l4 + (udp ? 6 : 16);
        var index = 0;
        var offset = 0;
        do
        {
            var length = Math.Min(mss, payload.Length - offset);
            var segment = scratch[..(headers + length)];
            frame[..headers].CopyTo(segment);
            payload.Slice(offset, length).CopyTo(segment[headers..]);
            var first = offset == 0;
            var last = offset + length >= payload.Length;

            if (ipv6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment[(l3 + 4)..], (ushort)(segment.Length - l3 - 40));
            }
            else
            {
                var ip = segment[l3..l4];
                BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(segment.Length - l3));
                BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(ipId + index));
                BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
                BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Finish(InternetChecksum.Add(0, ip)));
            }

            if (udp)
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment[(l4 + 4)..], (ushort)(segment.Length - l4));
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(segment[(l4 + 4)..], seq + (uint)offset);
                ref var flags = ref segment[l4 + 13];
                if (!last)
                {
                    flags &= unchecked((byte)~(TcpFin | TcpPsh));
                }

                if (!first)
                {
                    flags &= unchecked((byte)~TcpCwr);
                }
            }

            BinaryPrimitives.WriteUInt16BigEndian(segment[checksumField..], 0);
            var sum = InternetChecksum.PseudoHeader(segment[l3..], ipv6, protocol, segment.Length - l4);
            sum = InternetChecksum.Add(sum, segment[l4..]);
            var value = InternetChecksum.Finish(sum);
            BinaryPrimitives.WriteUInt16BigEndian(segment[checksumField..], udp && value == 0 ? (ushort)0xffff : value);

            sink.OnSegment(segment);
            offset += length;
            index++;
        }
        while (offset < payload.Length);

        return true;
    }
}
