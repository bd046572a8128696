using System.Buffers.Binary;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

/// <summary>
/// The one checksum against an independent decoder (PacketDotNet) on real traffic: every IPv4,
/// TCP, UDP and ICMP packet of fuzz/capture.pcap (a guest's DHCP, DNS, ping, TFTP and HTTP
/// through the user netdev, fuzz/capture.sh), and every IPv6 packet's upper-layer checksum
/// as the guest's kernel computed it.
/// </summary>
public sealed class ChecksumAgreementTests
{
    [Fact]
    public void Ipv4_tcp_udp_and_icmp_checksums_agree_with_packetdotnet()
    {
        var counts = new int[4];
        foreach (var frame in CapturedFrames())
        {
            var parsed = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, frame);
            if (parsed.Extract<PacketDotNet.IPv4Packet>() is not { } reference)
            {
                continue;
            }

            var bytes = (byte[])frame.Clone();
            Assert.True(Ipv4Packet.TryCreate(bytes.AsSpan(EthernetFrame.HeaderLength), out var ip));
            var field = ip.HeaderChecksum;
            ip.FillChecksum();
            Assert.Equal(reference.CalculateIPChecksum(), ip.HeaderChecksum);
            Assert.Equal(field, ip.HeaderChecksum);
            counts[0]++;

            // A fragment's transport checksum covers the reassembled datagram: not comparable here.
            if (ip.IsFragment)
            {
                continue;
            }

            switch (ip.Protocol)
            {
                case IpProtocol.Tcp:
                    var tcp = TcpPacket.CreateUnchecked(ip.Payload);
                    Assert.Equal(parsed.Extract<PacketDotNet.TcpPacket>().CalculateTcpChecksum(), tcp.ComputeChecksum(ip.Source, ip.Destination));
                    counts[1]++;
                    break;
                case IpProtocol.Udp:
                    var udp = UdpPacket.CreateUnchecked(ip.Payload);
                    var expected = parsed.Extract<PacketDotNet.UdpPacket>().CalculateUdpChecksum();
                    Assert.Equal(expected == 0 ? (ushort)0xFFFF : expected, udp.ComputeChecksum(ip.Source, ip.Destination));
                    counts[2]++;
                    break;
                case IpProtocol.Icmp when parsed.Extract<PacketDotNet.IcmpV4Packet>() is { } icmp:
                    Assert.True(IcmpPacket.TryCreate(ip.Payload, out var ours));
                    Assert.Equal(icmp.ValidIcmpChecksum, ours.VerifyChecksum());
                    counts[3]++;
                    break;
            }
        }

        // The capture has all four kinds; an empty or unreadable file must not pass silently.
        Assert.All(counts, c => Assert.True(c > 0, string.Join(' ', counts)));
    }

    /// <summary>The guest kernel's own IPv6 checksums (ICMPv6: NDP, MLD) verify with the IPv6 pseudo-header.</summary>
    [Fact]
    public void Ipv6_upper_layer_checksums_from_the_guest_kernel_verify()
    {
        var seen = 0;
        foreach (var frame in CapturedFrames())
        {
            var parsed = PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, frame);
            if (parsed.Extract<PacketDotNet.IPv6Packet>() is not { } reference || reference.NextHeader != PacketDotNet.ProtocolType.IcmpV6)
            {
                continue;
            }

            var ip = frame.AsSpan(EthernetFrame.HeaderLength);
            var upper = ip.Slice(40, BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
            var sum = Ipv6Packet.CreateUnchecked(ip).PseudoHeaderSum(IpProtocol.Icmpv6, upper.Length);
            Assert.Equal(0xFFFF, Checksum.Fold(Checksum.Add(sum, upper)));
            Assert.True(parsed.Extract<PacketDotNet.IcmpV6Packet>().ValidIcmpChecksum);
            seen++;
        }

        Assert.True(seen > 0);
    }

    private static List<byte[]> CapturedFrames()
    {
        // pcap (not pcapng), little-endian, Ethernet: the format tcpdump -w writes here.
        var file = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Wire", "capture.pcap"));
        Assert.Equal(0xA1B2C3D4u, BinaryPrimitives.ReadUInt32LittleEndian(file));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20)));
        var frames = new List<byte[]>();
        for (var offset = 24; offset + 16 <= file.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 8));
            frames.Add(file.AsSpan(offset + 16, length).ToArray());
            offset += 16 + length;
        }

        return frames;
    }
}
