using System.Buffers.Binary;

namespace Netdevd.Fuzz.Support;

/// <summary>
/// Wraps fuzzed payloads into guest frames and repairs their checksums, so the fuzzer spends
/// its effort past the checksum checks. Written from the RFCs, independently of the Wire views
/// under test, and total: it never throws, whatever the bytes.
/// </summary>
internal static class Frames
{
    public const int EthernetHeader = 14;
    public static readonly byte[] GuestMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    public static readonly byte[] GatewayMac = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
    public static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    public static readonly byte[] Guest = [10, 0, 2, 15];
    public static readonly byte[] Gateway = [10, 0, 2, 2];
    public static readonly byte[] Dns = [10, 0, 2, 3];
    public static readonly byte[] Outside = [192, 0, 2, 7];
    public static readonly byte[] Any = [0, 0, 0, 0];
    public static readonly byte[] AllOnes = [255, 255, 255, 255];

    public const ushort EtherTypeIpv4 = 0x0800;
    public const ushort EtherTypeArp = 0x0806;
    public const byte ProtocolTcp = 6;
    public const byte ProtocolUdp = 17;

    /// <summary>Ethernet header + <paramref name="payload"/> into <paramref name="frame"/>; returns the length.</summary>
    public static int Ethernet(Span<byte> frame, ReadOnlySpan<byte> destination, ushort etherType, ReadOnlySpan<byte> payload)
    {
        destination.CopyTo(frame);
        GuestMac.CopyTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], etherType);
        payload.CopyTo(frame[EthernetHeader..]);
        return EthernetHeader + payload.Length;
    }

    /// <summary>Ethernet + a 20-byte IPv4 header + <paramref name="l4"/>, checksums filled; returns the length.</summary>
    public static int Ipv4(Span<byte> frame, ReadOnlySpan<byte> destinationMac, ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, ReadOnlySpan<byte> l4)
    {
        destinationMac.CopyTo(frame);
        GuestMac.CopyTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], EtherTypeIpv4);
        var ip = frame[EthernetHeader..];
        ip[..20].Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)Math.Min(20 + l4.Length, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0x1234);
        ip[8] = 64;
        ip[9] = protocol;
        source.CopyTo(ip[12..]);
        destination.CopyTo(ip[16..]);
        l4.CopyTo(ip[20..]);
        var length = EthernetHeader + 20 + l4.Length;
        FixChecksums(frame[..length]);
        return length;
    }

    /// <summary>UDP header + payload (checksum left for <see cref="FixChecksums"/>); returns the length.</summary>
    public static int Udp(Span<byte> l4, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt16BigEndian(l4, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(l4[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)Math.Min(8 + payload.Length, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16BigEndian(l4[6..], 0);
        payload.CopyTo(l4[8..]);
        return 8 + payload.Length;
    }

    /// <summary>
    /// Recomputes the IPv4 header checksum and, for an unfragmented TCP, UDP or ICMP datagram,
    /// the transport checksum over what the IP header says is there (as much as the frame holds).
    /// </summary>
    public static void FixChecksums(Span<byte> frame)
    {
        if (frame.Length < EthernetHeader + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherTypeIpv4)
        {
            return;
        }

        var ip = frame[EthernetHeader..];
        var headerLength = (ip[0] & 0x0f) * 4;
        if (headerLength < 20 || headerLength > ip.Length)
        {
            return;
        }

        ip[10] = ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Finish(Sum(0, ip[..headerLength])));
        var total = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(ip[2..]), ip.Length);
        var fragment = (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3fff) != 0;
        if (fragment || total <= headerLength)
        {
            return;
        }

        var l4 = ip[headerLength..total];
        var protocol = ip[9];
        var at = protocol switch { ProtocolTcp => 16, ProtocolUdp => 6, 1 => 2, _ => -1 };
        if (at < 0 || l4.Length < at + 2)
        {
            return;
        }

        l4[at] = l4[at + 1] = 0;
        uint sum = 0;
        if (protocol != 1)
        {
            sum = Sum(sum, ip.Slice(12, 8));
            sum += protocol;
            sum += (uint)l4.Length;
        }

        var checksum = Finish(Sum(sum, l4));
        if (protocol == ProtocolUdp && checksum == 0)
        {
            checksum = 0xffff;
        }

        BinaryPrimitives.WriteUInt16BigEndian(l4[at..], checksum);
    }

    private static uint Sum(uint sum, ReadOnlySpan<byte> data)
    {
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            sum = (sum & 0xffff) + (sum >> 16);
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }

        return sum;
    }

    private static ushort Finish(uint sum)
    {
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
