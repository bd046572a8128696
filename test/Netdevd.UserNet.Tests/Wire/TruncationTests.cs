using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Wire;

/// <summary>
/// The wire contract as a property: for every prefix of real frames and for random bytes, a view
/// that TryCreate accepts can have every accessor read without throwing.
/// </summary>
public sealed class TruncationTests
{
    public static TheoryData<string> Frames => [Golden.Udp, Golden.TcpSyn, Golden.IcmpEcho, Golden.ArpRequest];

    [Theory]
    [MemberData(nameof(Frames))]
    public void Every_prefix_parses_or_is_refused(string hex)
    {
        var full = Bytes.Hex(hex);
        for (var len = 0; len <= full.Length; len++)
        {
            ParseEverything(full.AsSpan(0, len).ToArray());
        }
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var rng = new Random(42);
        for (var i = 0; i < 3000; i++)
        {
            var b = new byte[rng.Next(0, 400)];
            rng.NextBytes(b);
            if (b.Length > 34 && i % 2 == 0)
            {
                b[12] = 8;
                b[13] = 0;
                b[14] = (byte)(0x45 + (i % 3));
                b[16] = 0;
                b[17] = (byte)Math.Min(255, b.Length - 14);
                b[23] = (byte)(i % 3 == 0 ? 6 : i % 3 == 1 ? 17 : 1);
            }

            ParseEverything(b);
        }
    }

    private static void ParseEverything(byte[] b)
    {
        long sink = 0;
        if (EthernetFrame.TryCreate(b, out var eth))
        {
            sink += (long)eth.Destination.Value + (long)eth.Source.Value + eth.EtherType + eth.Payload.Length;
            if (ArpPacket.TryCreate(eth.Payload, out var arp))
            {
                sink += arp.Operation + arp.SenderProtocolAddress.Value + (long)arp.TargetHardwareAddress.Value + (arp.IsEthernetIpv4 ? 1 : 0);
            }

            if (Ipv4Packet.TryCreate(eth.Payload, out var ip))
            {
                sink += ip.HeaderLength + ip.TotalLength + ip.FragmentOffset + ip.Options.Length + ip.Payload.Length +
                        (ip.VerifyChecksum() ? 1 : 0) + ip.PseudoHeaderSum;
                if (TcpPacket.TryCreate(ip.Payload, out var tcp))
                {
                    sink += tcp.SequenceNumber + tcp.HeaderLength + tcp.Payload.Length + tcp.Options.Length + tcp.SegmentLength +
                            (tcp.VerifyChecksum(ip.Source, ip.Destination) ? 1 : 0);
                    _ = TcpOptions.TryParse(tcp.Options, out var o);
                    sink += o.MaximumSegmentSize ?? 0;
                }

                if (UdpPacket.TryCreate(ip.Payload, out var udp))
                {
                    sink += udp.Payload.Length + (udp.VerifyChecksum(ip.Source, ip.Destination) ? 1 : 0);
                    ParseApplication(udp.Payload, ref sink);
                }

                if (IcmpPacket.TryCreate(ip.Payload, out var icmp))
                {
                    sink += icmp.Header.Data.Length + icmp.Header.RestOfHeader + (icmp.VerifyChecksum() ? 1 : 0);
                }
            }
        }

        ParseApplication(b, ref sink);
        Assert.True(sink >= 0);
    }

    private static void ParseApplication(Span<byte> b, ref long sink)
    {
        if (DhcpMessage.TryCreate(b, out var dhcp))
        {
            sink += dhcp.TransactionId + (long)dhcp.ClientHardwareAddress.Value + dhcp.MessageType + dhcp.BootFile.Length;
            var r = dhcp.ReadOptions();
            while (r.MoveNext())
            {
                sink += r.Code + r.Data.Length;
            }
        }

        if (DnsMessage.TryCreate(b, out var dns))
        {
            sink += dns.Id + dns.QuestionCount + dns.ResponseCode;
            if (dns.TryReadQuestion(DnsMessage.HeaderLength, out var q, out _))
            {
                sink += q.Type;
            }
        }

        if (TftpPacket.TryCreate(b, out var tftp))
        {
            sink += tftp.BlockNumber + tftp.Data.Length + tftp.ErrorMessage.Length;
            var s = tftp.RequestStrings;
            while (s.TryRead(out var v))
            {
                sink += v.Length;
            }
        }
    }
}
