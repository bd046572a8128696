using System.Text;
using Netdevd.Wire;

namespace Netdevd.Fuzz.Harnesses;

/// <summary>
/// Every packet view of Netdevd.UserNet/Wire over the input, both on their own and nested as
/// a frame is parsed (Ethernet, ARP/IPv4, TCP/UDP/ICMP, DHCP/DNS/TFTP), reading every field,
/// option list, DNS name and TFTP string. A view that accepted the bytes must read its fields
/// without throwing.
/// </summary>
public static class WireHarness
{
    private static long s_sink;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var bytes = input.ToArray();
        Ethernet(bytes);
        Arp(bytes);
        Ipv4(bytes);
        Tcp(bytes, Ipv4Address.Any, Ipv4Address.Any);
        Udp(bytes, Ipv4Address.Any, Ipv4Address.Any);
        Icmp(bytes);
        Ipv6(bytes);
        Ndp(bytes);
        Dhcp(bytes);
        Dns(bytes);
        Tftp(bytes);
        if (TcpOptions.TryParse(bytes, out var options))
        {
            Keep(options.GetHashCode());
        }

        Text(input);
        ChecksumAgrees(input);
    }

    /// <summary>
    /// The one checksum (vector bulk, 8/4/2/1-byte tail) against a word-by-word sum, at every
    /// alignment the input's own bytes give: a difference is a finding.
    /// </summary>
    private static void ChecksumAgrees(ReadOnlySpan<byte> input)
    {
        for (var start = 0; start < Math.Min(input.Length, 4); start++)
        {
            var data = input[start..];
            uint naive = 0;
            for (var i = 0; i < data.Length; i += 2)
            {
                naive += (uint)((data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0));
                naive = (naive & 0xFFFF) + (naive >> 16);
            }

            if (Checksum.Fold(Checksum.Add(0, data)) != (ushort)naive)
            {
                throw new InvalidOperationException($"checksum of {data.Length} bytes differs from the word-by-word sum");
            }
        }
    }

    private static void Vlan(Span<byte> bytes)
    {
        if (!VlanHeader.TryCreate(bytes, out var vlan))
        {
            return;
        }

        Keep(vlan.TagControl + vlan.Priority + vlan.VlanId + (vlan.DropEligible ? 1 : 0) + vlan.EtherType + vlan.Payload.Length);
        if (vlan.EtherType == EtherType.Ipv4)
        {
            Ipv4(vlan.Payload);
        }
    }

    private static void Ethernet(Span<byte> bytes)
    {
        if (!EthernetFrame.TryCreate(bytes, out var eth))
        {
            return;
        }

        Keep(eth.Destination.GetHashCode() + eth.Source.GetHashCode() + eth.EtherType + eth.Bytes.Length);
        switch (eth.EtherType)
        {
            case EtherType.Arp:
                Arp(eth.Payload);
                break;
            case EtherType.Ipv4:
                Ipv4(eth.Payload);
                break;
            case EtherType.Ipv6:
                Ipv6(eth.Payload);
                break;
            case EtherType.Vlan:
                Vlan(eth.Payload);
                break;
        }
    }

    /// <summary>IPv6, its extension-header chain and fragment header, and what the chain leads to.</summary>
    private static void Ipv6(Span<byte> bytes)
    {
        if (!Ipv6Packet.TryCreate(bytes, out var ip))
        {
            return;
        }

        Keep(ip.TrafficClass + ip.FlowLabel + ip.PayloadLength + ip.NextHeader + ip.HopLimit + ip.Source.GetHashCode() + ip.Destination.GetHashCode());
        Keep(ip.Source.ToString().Length + ip.Destination.SolicitedNodeMulticast.MulticastMac.GetHashCode());
        var chain = ip.WalkHeaders();
        Keep(chain.GetHashCode());
        if (chain.FragmentHeaderOffset >= 0 && Ipv6FragmentHeader.TryCreate(ip.Bytes[chain.FragmentHeaderOffset..], out var fragment))
        {
            Keep(fragment.NextHeader + fragment.FragmentOffset + (fragment.MoreFragments ? 1 : 0) + fragment.Identification);
        }

        if (!chain.IsComplete || chain.IsFragment)
        {
            return;
        }

        var upper = ip.Bytes[chain.UpperOffset..];
        switch (chain.Protocol)
        {
            case IpProtocol.Icmpv6:
                if (Icmpv6Packet.TryCreate(upper, out var icmp))
                {
                    var header = icmp.Header;
                    Keep(header.Type + header.Code + header.RestOfHeader + (icmp.VerifyChecksum(ip.Source, ip.Destination) ? 1 : 0) + header.Data.Length);
                    Ndp(upper);
                }

                break;
            case IpProtocol.Udp:
                if (UdpPacket.TryCreate(upper, out var udp))
                {
                    Keep(udp.Payload.Length + (udp.VerifyChecksum(ip.Source, ip.Destination) ? 1 : 0));
                }

                break;
            case IpProtocol.Tcp:
                if (TcpPacket.TryCreate(upper, out var tcp))
                {
                    Keep(tcp.Payload.Length + (tcp.VerifyChecksum(ip.Source, ip.Destination) ? 1 : 0));
                }

                break;
        }
    }

    /// <summary>The NDP views over an ICMPv6 message and every option they carry.</summary>
    private static void Ndp(Span<byte> icmp)
    {
        if (NdpRouterSolicitation.TryCreate(icmp, out var rs))
        {
            NdpOptions(rs.Options);
        }

        if (NdpRouterAdvertisement.TryCreate(icmp, out var ra))
        {
            Keep(ra.CurrentHopLimit + ra.RouterLifetime + ra.ReachableTime + ra.RetransTimer + (ra.Managed ? 1 : 0) + (ra.OtherConfiguration ? 1 : 0));
            NdpOptions(ra.Options);
        }

        if (NdpNeighborSolicitation.TryCreate(icmp, out var ns))
        {
            Keep(ns.Target.GetHashCode());
            NdpOptions(ns.Options);
        }

        if (NdpNeighborAdvertisement.TryCreate(icmp, out var na))
        {
            Keep(na.Target.GetHashCode() + (na.Router ? 1 : 0) + (na.Solicited ? 2 : 0) + (na.Override ? 4 : 0));
            NdpOptions(na.Options);
        }
    }

    private static void NdpOptions(Span<byte> options)
    {
        var reader = new NdpOptionReader(options);
        while (reader.TryNext(out var type, out var option))
        {
            if (NdpOptionReader.TryReadLinkLayerAddress(option, out var mac))
            {
                Keep(mac.GetHashCode());
            }

            if (type == NdpOption.PrefixInformation && NdpOptionReader.TryReadPrefixInformation(option, out var info))
            {
                Keep(info.GetHashCode());
            }
        }

        Keep(reader.IsMalformed ? 1 : 0);
    }

    private static void Arp(Span<byte> bytes)
    {
        if (!ArpPacket.TryCreate(bytes, out var arp))
        {
            return;
        }

        Keep(arp.HardwareType + arp.ProtocolType + arp.HardwareLength + arp.ProtocolLength + arp.Operation);
        Keep(arp.SenderHardwareAddress.GetHashCode() + arp.SenderProtocolAddress.GetHashCode());
        Keep(arp.TargetHardwareAddress.GetHashCode() + arp.TargetProtocolAddress.GetHashCode() + (arp.IsEthernetIpv4 ? 1 : 0));
    }

    private static void Ipv4(Span<byte> bytes)
    {
        if (!Ipv4Packet.TryCreate(bytes, out var ip))
        {
            return;
        }

        Keep(ip.Version + ip.HeaderLength + ip.TypeOfService + ip.TotalLength + ip.Identification + ip.FragmentOffset + ip.TimeToLive + ip.HeaderChecksum);
        Keep((ip.DontFragment ? 1 : 0) + (ip.MoreFragments ? 2 : 0) + (ip.IsFragment ? 4 : 0) + (ip.VerifyChecksum() ? 8 : 0));
        Keep(ip.Source.GetHashCode() + ip.Destination.GetHashCode() + ip.OptionsLength + ip.Options.Length + ip.Header.Length + ip.Bytes.Length);
        Keep((int)ip.PseudoHeaderSum);
        switch (ip.Protocol)
        {
            case IpProtocol.Tcp:
                Tcp(ip.Payload, ip.Source, ip.Destination);
                break;
            case IpProtocol.Udp:
                Udp(ip.Payload, ip.Source, ip.Destination);
                break;
            case IpProtocol.Icmp:
                Icmp(ip.Payload);
                break;
        }
    }

    private static void Tcp(Span<byte> bytes, Ipv4Address source, Ipv4Address destination)
    {
        if (!TcpPacket.TryCreate(bytes, out var tcp))
        {
            return;
        }

        Keep(tcp.SourcePort + tcp.DestinationPort + (int)tcp.SequenceNumber + (int)tcp.AcknowledgmentNumber + tcp.HeaderLength);
        Keep((int)tcp.Flags + (tcp.Fin ? 1 : 0) + (tcp.Syn ? 1 : 0) + (tcp.Rst ? 1 : 0) + (tcp.Psh ? 1 : 0) + (tcp.Ack ? 1 : 0) + (tcp.Urg ? 1 : 0));
        Keep(tcp.WindowSize + tcp.Checksum + tcp.UrgentPointer + tcp.Payload.Length + tcp.SegmentLength + tcp.Bytes.Length);
        Keep(tcp.ComputeChecksum(source, destination) + (tcp.VerifyChecksum(source, destination) ? 1 : 0));
        if (TcpOptions.TryParse(tcp.Options, out var options))
        {
            Keep(options.EmittedLength + options.GetHashCode());
        }
    }

    private static void Udp(Span<byte> bytes, Ipv4Address source, Ipv4Address destination)
    {
        if (!UdpPacket.TryCreate(bytes, out var udp))
        {
            return;
        }

        Keep(udp.SourcePort + udp.DestinationPort + udp.Length + udp.Checksum + udp.Bytes.Length);
        Keep(udp.ComputeChecksum(source, destination) + (udp.VerifyChecksum(source, destination) ? 1 : 0));
        Dhcp(udp.Payload);
        Dns(udp.Payload);
        Tftp(udp.Payload);
    }

    private static void Icmp(Span<byte> bytes)
    {
        if (!IcmpPacket.TryCreate(bytes, out var icmp))
        {
            return;
        }

        var header = icmp.Header;
        Keep(header.Type + header.Code + header.Checksum + header.Identifier + header.SequenceNumber + (int)header.RestOfHeader + header.Data.Length);
        Keep((icmp.IsEcho ? 1 : 0) + (icmp.VerifyChecksum() ? 2 : 0) + icmp.Bytes.Length);
    }

    private static void Dhcp(Span<byte> bytes)
    {
        if (!DhcpMessage.TryCreate(bytes, out var dhcp))
        {
            return;
        }

        Keep(dhcp.Op + dhcp.HardwareType + dhcp.HardwareLength + dhcp.Hops + (int)dhcp.TransactionId + dhcp.Seconds + dhcp.Flags + (dhcp.Broadcast ? 1 : 0));
        Keep(dhcp.ClientAddress.GetHashCode() + dhcp.YourAddress.GetHashCode() + dhcp.ServerAddress.GetHashCode() + dhcp.RelayAddress.GetHashCode());
        Keep(dhcp.ClientHardwareField.Length + dhcp.ServerName.Length + dhcp.BootFile.Length + (dhcp.HasMagicCookie ? 1 : 0));
        Keep(dhcp.MessageType + dhcp.Bytes.Length);
        for (var code = 0; code < 256; code += 17)
        {
            if (dhcp.TryGetOption((byte)code, out var data))
            {
                Keep(data.Length);
            }
        }

        var reader = new DhcpOptionReader(dhcp.Options);
        while (reader.MoveNext())
        {
            Keep(reader.Code + reader.Data.Length);
        }

        Keep(reader.Malformed ? 1 : 0);
    }

    private static void Dns(Span<byte> bytes)
    {
        if (!DnsMessage.TryCreate(bytes, out var dns))
        {
            return;
        }

        Keep(dns.Id + dns.Flags + (dns.IsResponse ? 1 : 0) + dns.Opcode + (dns.Authoritative ? 1 : 0) + (dns.Truncated ? 1 : 0));
        Keep((dns.RecursionDesired ? 1 : 0) + (dns.RecursionAvailable ? 1 : 0) + dns.ResponseCode + dns.Bytes.Length);
        Keep(dns.QuestionCount + dns.AnswerCount + dns.AuthorityCount + dns.AdditionalCount);
        Span<byte> dotted = stackalloc byte[256];
        var offset = 12;
        for (var i = 0; i < dns.QuestionCount && i < 8; i++)
        {
            if (!dns.TryReadQuestion(offset, out var question, out var next))
            {
                break;
            }

            Keep(question.Type + question.Class);
            if (DnsName.TryRead(dns.Bytes, question.NameOffset, dotted, out var written, out _))
            {
                Keep(written);
            }

            offset = next;
        }

        // Names may start anywhere (compression pointers point anywhere): try every offset.
        for (var at = 0; at < bytes.Length && at < 512; at++)
        {
            if (DnsName.TryRead(bytes, at, dotted, out var written, out var end))
            {
                Keep(written + end);
            }

            if (DnsName.TrySkip(bytes, at, out var skipped))
            {
                Keep(skipped);
            }
        }
    }

    private static void Tftp(Span<byte> bytes)
    {
        if (!TftpPacket.TryCreate(bytes, out var tftp))
        {
            return;
        }

        Keep((int)tftp.Opcode + tftp.BlockNumber + (int)tftp.ErrorCode + tftp.Data.Length + tftp.ErrorMessage.Length + tftp.Bytes.Length);
        var strings = tftp.RequestStrings;
        while (!strings.IsAtEnd && strings.TryRead(out var value))
        {
            Keep(value.Length);
        }
    }

    /// <summary>The address parsers (netdev options and hostfwd rules reach them with user text).</summary>
    private static void Text(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (Ipv4Address.TryParse(text, out var ip))
        {
            Keep(ip.GetHashCode() + ip.ToString().Length);
        }

        if (MacAddress.TryParse(text, out var mac))
        {
            Keep(mac.GetHashCode() + mac.ToString().Length);
        }

        Span<byte> encoded = stackalloc byte[300];
        if (DnsName.TryEncode(text, encoded, out var n))
        {
            Keep(n);
        }
    }

    private static void Keep(long value) => s_sink += value;
}
