namespace Netdevd.Wire;

/// <summary>
/// Builds Ethernet+IPv4+UDP frames around a payload already written in place at
/// <see cref="PayloadOffset"/>, so services write their reply straight into the frame buffer.
/// </summary>
public static class UdpFrame
{
    /// <summary>14 (Ethernet) + 20 (IPv4, no options) + 8 (UDP).</summary>
    public const int PayloadOffset = EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength + UdpPacket.HeaderLength;

    /// <summary>The payload area of a frame buffer.</summary>
    public static Span<byte> Payload(Span<byte> frame) => frame[PayloadOffset..];

    /// <summary>Writes the three headers and the UDP checksum; returns the frame length.</summary>
    public static int Finish(
        Span<byte> frame,
        MacAddress destinationMac,
        MacAddress sourceMac,
        Ipv4Address source,
        ushort sourcePort,
        Ipv4Address destination,
        ushort destinationPort,
        int payloadLength,
        ushort identification = 0)
    {
        var n = EthernetFrame.WriteHeader(frame, destinationMac, sourceMac, EtherType.Ipv4);
        n += Ipv4Packet.WriteHeader(frame[n..], source, destination, IpProtocol.Udp, UdpPacket.HeaderLength + payloadLength, identification);
        UdpPacket.WriteHeader(frame[n..], sourcePort, destinationPort, payloadLength);
        UdpPacket.CreateUnchecked(frame[n..]).FillChecksum(source, destination);
        return PayloadOffset + payloadLength;
    }
}
