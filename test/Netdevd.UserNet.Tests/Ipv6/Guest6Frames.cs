using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Ipv6;

/// <summary>IPv6 frames as a guest sends them, built byte by byte with the wire views.</summary>
internal static class Guest6Frames
{
    public static readonly MacAddress GuestMac = GuestFrames.GuestMac;
    public static readonly Ipv6Address Guest = Parse("fec0::5054:ff:fe12:3456");
    public static readonly Ipv6Address GuestLinkLocal = Parse("fe80::5054:ff:fe12:3456");
    public static readonly Ipv6Address Gateway = Parse("fec0::2");
    public static readonly Ipv6Address Dns = Parse("fec0::3");
    public static readonly Ipv6Address RouterLinkLocal = Parse("fe80::2");
    public static readonly MacAddress RouterMac = MacAddress.Create(0x52, 0x56, 0, 0, 0, 2);

    public static Ipv6Address Parse(string text) => Ipv6Address.TryParse(text, out var a) ? a : throw new FormatException(text);

    /// <summary>A frame: Ethernet, IPv6 header (first next header <paramref name="next"/>), then <paramref name="payload"/> as is.</summary>
    public static byte[] Ip(Ipv6Address source, Ipv6Address destination, byte next, byte[] payload, byte hopLimit = 64, MacAddress? destinationMac = null)
    {
        var b = new byte[14 + 40 + payload.Length];
        var n = EthernetFrame.WriteHeader(b, destinationMac ?? RouterMac, GuestMac, EtherType.Ipv6);
        n += Ipv6Packet.WriteHeader(b.AsSpan(n), source, destination, next, payload.Length, hopLimit);
        payload.CopyTo(b, n);
        return b;
    }

    /// <summary>An ICMPv6 message with its checksum filled for the given addresses.</summary>
    public static byte[] Icmp(Ipv6Address source, Ipv6Address destination, byte[] message, byte hopLimit = 64, MacAddress? destinationMac = null)
    {
        Icmpv6Packet.CreateUnchecked(message).FillChecksum(source, destination);
        return Ip(source, destination, IpProtocol.Icmpv6, message, hopLimit, destinationMac);
    }

    public static byte[] EchoRequest(ushort id, ushort seq, int dataLength = 8)
    {
        var m = new byte[8 + dataLength];
        m[0] = Icmpv6Packet.TypeEchoRequest;
        var e = IcmpHeader.CreateUnchecked(m);
        e.Identifier = id;
        e.SequenceNumber = seq;
        for (var i = 0; i < dataLength; i++)
        {
            m[8 + i] = (byte)i;
        }

        return m;
    }

    public static byte[] Ping(Ipv6Address destination, ushort id = 0x99, ushort seq = 1, int dataLength = 8, Ipv6Address? source = null) =>
        Icmp(source ?? Guest, destination, EchoRequest(id, seq, dataLength));

    public static byte[] NeighborSolicitation(Ipv6Address source, Ipv6Address target, bool withSourceLinkLayer = true, byte hopLimit = 255)
    {
        var m = new byte[24 + (withSourceLinkLayer ? 8 : 0)];
        var n = NdpNeighborSolicitation.Write(m, target);
        if (withSourceLinkLayer)
        {
            NdpOption.WriteLinkLayerAddress(m.AsSpan(n), NdpOption.SourceLinkLayerAddress, GuestMac);
        }

        var destination = target.SolicitedNodeMulticast;
        return Icmp(source, destination, m, hopLimit, destination.MulticastMac);
    }

    public static byte[] RouterSolicitation(Ipv6Address source, byte[]? options = null)
    {
        options ??= source.IsUnspecified ? [] : LinkLayerOption(NdpOption.SourceLinkLayerAddress, GuestMac);
        var m = new byte[8 + options.Length];
        m[0] = Icmpv6Packet.TypeRouterSolicitation;
        options.CopyTo(m, 8);
        return Icmp(source, Ipv6Address.AllRouters, m, 255, Ipv6Address.AllRouters.MulticastMac);
    }

    public static byte[] NeighborAdvertisement(Ipv6Address source, Ipv6Address target, MacAddress mac)
    {
        var m = new byte[32];
        var n = NdpNeighborAdvertisement.Write(m, target, false, false, true);
        NdpOption.WriteLinkLayerAddress(m.AsSpan(n), NdpOption.TargetLinkLayerAddress, mac);
        return Icmp(source, Ipv6Address.AllNodes, m, 255, Ipv6Address.AllNodes.MulticastMac);
    }

    public static byte[] LinkLayerOption(byte type, MacAddress mac)
    {
        var o = new byte[8];
        NdpOption.WriteLinkLayerAddress(o, type, mac);
        return o;
    }

    /// <summary>A TCP segment with a correct IPv6 checksum.</summary>
    public static byte[] Tcp(Ipv6Address source, Ipv6Address destination, ushort sourcePort, ushort destinationPort, uint seq, uint ack, TcpFlags flags, TcpOptions options = default, byte hopLimit = 64)
    {
        var l4 = new byte[TcpPacket.MinimumHeaderLength + options.EmittedLength];
        TcpPacket.WriteHeader(l4, sourcePort, destinationPort, seq, ack, flags, 65535, options);
        TcpPacket.CreateUnchecked(l4).FillChecksum(source, destination);
        return Ip(source, destination, IpProtocol.Tcp, l4, hopLimit);
    }

    /// <summary>A UDP datagram with a correct IPv6 checksum.</summary>
    public static byte[] Udp(Ipv6Address source, Ipv6Address destination, ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        var l4 = new byte[8 + payload.Length];
        UdpPacket.WriteHeader(l4, sourcePort, destinationPort, payload.Length);
        payload.CopyTo(l4, 8);
        UdpPacket.CreateUnchecked(l4).FillChecksum(source, destination);
        return Ip(source, destination, IpProtocol.Udp, l4, destination.IsMulticast ? (byte)1 : (byte)64, destination.IsMulticast ? destination.MulticastMac : RouterMac);
    }

    /// <summary>Splits the upper-layer part of an IPv6 frame (no extension headers) into fragments of <paramref name="chunk"/> bytes.</summary>
    public static List<byte[]> Fragment(byte[] frame, int chunk, uint identification = 0x1234)
    {
        var next = frame[14 + 6];
        var body = frame.AsSpan(14 + 40).ToArray();
        var source = Ipv6Address.Read(frame.AsSpan(14 + 8));
        var destination = Ipv6Address.Read(frame.AsSpan(14 + 24));
        var pieces = new List<byte[]>();
        for (var offset = 0; offset < body.Length; offset += chunk)
        {
            var length = Math.Min(chunk, body.Length - offset);
            var payload = new byte[8 + length];
            Ipv6FragmentHeader.Write(payload, next, offset, offset + length < body.Length, identification);
            body.AsSpan(offset, length).CopyTo(payload.AsSpan(8));
            pieces.Add(Ip(source, destination, Ipv6ExtensionHeader.Fragment, payload));
        }

        return pieces;
    }

    /// <summary>Reads a frame the stack sent: Ethernet and IPv6 headers checked.</summary>
    public static Ipv6Packet Read(byte[] frame, out EthernetFrame eth)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out eth));
        Assert.Equal(EtherType.Ipv6, eth.EtherType);
        Assert.True(Ipv6Packet.TryCreate(eth.Payload, out var ip));
        return ip;
    }

    /// <summary>Reads an ICMPv6 message the stack sent (no extension headers), checksum verified.</summary>
    public static Icmpv6Packet ReadIcmp(byte[] frame, out Ipv6Packet ip, out EthernetFrame eth)
    {
        ip = Read(frame, out eth);
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        Assert.True(Icmpv6Packet.TryCreate(ip.Payload, out var icmp));
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        return icmp;
    }
}
