using System.Net;
using System.Net.NetworkInformation;
using Netdevd.Backends.VirtioNet;
using PacketDotNet;
using Checksum = Netdevd.Wire.Checksum;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>Builds offloaded frames with PacketDotNet and collects what software offload makes of them.</summary>
internal static class OffloadFrames
{
    public static byte[] Payload(int length)
    {
        var p = new byte[length];
        for (var i = 0; i < length; i++)
        {
            p[i] = (byte)((i * 7) + (i >> 8));
        }

        return p;
    }

    public static byte[] Tcp(bool ipv6, byte[] payload, uint seq, bool push, bool fin = false, bool cwr = false)
    {
        var tcp = new TcpPacket(40000, 5201) { SequenceNumber = seq, AcknowledgmentNumber = 7, Acknowledgment = true, Push = push, Finished = fin, CongestionWindowReduced = cwr, WindowSize = 512, PayloadData = payload };
        return Wrap(ipv6, tcp);
    }

    public static byte[] Udp(bool ipv6, byte[] payload)
    {
        var udp = new UdpPacket(40000, 5201) { PayloadData = payload };
        return Wrap(ipv6, udp);
    }

    /// <summary>Leaves the L4 checksum as a sender with NEEDS_CSUM does: the folded pseudo-header sum.</summary>
    public static void MakePartial(byte[] frame, bool ipv6, int l4, int checksumOffset, byte protocol)
    {
        var l3 = 14;
        var addresses = ipv6 ? frame.AsSpan(l3 + 8, 32) : frame.AsSpan(l3 + 12, 8);
        var folded = Checksum.Fold(Checksum.Add(0, addresses) + protocol + (uint)(frame.Length - l4));
        frame[l4 + checksumOffset] = (byte)(folded >> 8);
        frame[l4 + checksumOffset + 1] = (byte)folded;
    }

    public static int L4Offset(bool ipv6) => 14 + (ipv6 ? 40 : 20);

    private static byte[] Wrap(bool ipv6, Packet transport)
    {
        var eth = new EthernetPacket(PhysicalAddress.Parse("02-00-00-00-00-01"), PhysicalAddress.Parse("02-00-00-00-00-02"), ipv6 ? EthernetType.IPv6 : EthernetType.IPv4);
        IPPacket ip = ipv6
            ? new IPv6Packet(IPAddress.Parse("fd00::1"), IPAddress.Parse("fd00::2")) { HopLimit = 64 }
            : new IPv4Packet(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2")) { TimeToLive = 64, Id = 1000 };
        ip.PayloadPacket = transport;
        eth.PayloadPacket = ip;
        eth.UpdateCalculatedValues();
        if (ip is IPv4Packet v4)
        {
            v4.UpdateIPChecksum();
        }

        (transport as TcpPacket)?.UpdateTcpChecksum();
        (transport as UdpPacket)?.UpdateUdpChecksum();
        return eth.Bytes;
    }
}

/// <summary>Copies every frame handed to it.</summary>
internal sealed class CollectingSink : ISegmentSink
{
    public List<byte[]> Frames { get; } = [];

    public void OnSegment(Span<byte> frame) => Frames.Add(frame.ToArray());
}
