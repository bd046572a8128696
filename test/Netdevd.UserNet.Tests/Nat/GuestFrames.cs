using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>Builds guest frames with the Wire emitters (the stack under test parses them back).</summary>
internal static class GuestFrames
{
    public static readonly MacAddress GuestMac = MacAddress.Create(0x52, 0x54, 0, 0x12, 0x34, 0x56);
    public static readonly Ipv4Address Guest = Ipv4Address.Create(10, 0, 2, 15);
    public static readonly Ipv4Address Host = Ipv4Address.Create(10, 0, 2, 2);

    public static byte[] Tcp(Ipv4Address dst, ushort srcPort, ushort dstPort, uint seq, uint ack, TcpFlags flags, byte[]? payload = null, TcpOptions options = default)
    {
        payload ??= [];
        var l4 = new byte[TcpPacket.MinimumHeaderLength + options.EmittedLength + payload.Length];
        var hl = TcpPacket.WriteHeader(l4, srcPort, dstPort, seq, ack, flags, 65535, options);
        payload.CopyTo(l4, hl);
        TcpPacket.CreateUnchecked(l4).FillChecksum(Guest, dst);
        return Ip(dst, IpProtocol.Tcp, l4);
    }

    public static byte[] Udp(Ipv4Address dst, ushort srcPort, ushort dstPort, byte[] payload)
    {
        var l4 = new byte[UdpPacket.HeaderLength + payload.Length];
        UdpPacket.WriteHeader(l4, srcPort, dstPort, payload.Length);
        payload.CopyTo(l4, UdpPacket.HeaderLength);
        UdpPacket.CreateUnchecked(l4).FillChecksum(Guest, dst);
        return Ip(dst, IpProtocol.Udp, l4);
    }

    public static byte[] Ping(Ipv4Address dst, ushort id, ushort seq, int dataLength = 8)
    {
        var l4 = new byte[IcmpPacket.HeaderLength + dataLength];
        var icmp = IcmpHeader.CreateUnchecked(l4);
        icmp.Type = IcmpPacket.TypeEchoRequest;
        icmp.Identifier = id;
        icmp.SequenceNumber = seq;
        IcmpPacket.CreateUnchecked(l4).FillChecksum();
        return Ip(dst, IpProtocol.Icmp, l4);
    }

    public static byte[] ArpRequest(Ipv4Address target)
    {
        var frame = new byte[60];
        var n = EthernetFrame.WriteHeader(frame, MacAddress.Broadcast, GuestMac, EtherType.Arp);
        ArpPacket.Write(frame.AsSpan(n), ArpPacket.OperationRequest, GuestMac, Guest, MacAddress.Zero, target);
        return frame;
    }

    /// <summary>Splits an Ethernet+IPv4 frame into fragments of at most <paramref name="maxPayload"/> bytes of IP payload.</summary>
    public static List<byte[]> Fragment(byte[] frame, int maxPayload, ushort identification = 77)
    {
        const int ipStart = EthernetFrame.HeaderLength;
        const int headerLength = Ipv4Packet.MinimumHeaderLength;
        var payload = frame.AsSpan(ipStart + headerLength);
        var pieces = new List<byte[]>();
        for (var offset = 0; offset < payload.Length; offset += maxPayload)
        {
            var length = Math.Min(maxPayload, payload.Length - offset);
            var piece = new byte[ipStart + headerLength + length];
            frame.AsSpan(0, ipStart + headerLength).CopyTo(piece);
            payload.Slice(offset, length).CopyTo(piece.AsSpan(ipStart + headerLength));
            var ip = Ipv4Packet.CreateUnchecked(piece.AsSpan(ipStart));
            ip.TotalLength = (ushort)(headerLength + length);
            ip.Identification = identification;
            var more = offset + length < payload.Length;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(ipStart + 6), (ushort)((more ? 0x2000 : 0) | (offset / 8)));
            ip.FillChecksum();
            pieces.Add(piece);
        }

        return pieces;
    }

    public static byte[] Ip(Ipv4Address dst, byte protocol, byte[] l4, bool moreFragments = false)
    {
        var frame = new byte[EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength + l4.Length];
        var n = EthernetFrame.WriteHeader(frame, MacAddress.Create(0x52, 0x55, 10, 0, 2, 2), GuestMac, EtherType.Ipv4);
        Ipv4Packet.WriteHeader(frame.AsSpan(n), Guest, dst, protocol, l4.Length);
        if (moreFragments)
        {
            frame[n + 6] |= 0x20;
            Ipv4Packet.TryCreate(frame.AsSpan(n), out var ip);
            ip.FillChecksum();
        }

        l4.CopyTo(frame, n + Ipv4Packet.MinimumHeaderLength);
        return frame;
    }
}

/// <summary>Collects the stack's frames.</summary>
internal sealed class ListSink : IFrameSink
{
    private readonly byte[] _buffer = new byte[70000];

    public List<byte[]> Frames { get; } = [];

    public Span<byte> Allocate(int maxLength) => _buffer;

    public void Commit(int length) => Frames.Add(_buffer[..length]);

    /// <summary>The frames committed with a partial checksum, by index in <see cref="Frames"/>: (start, offset).</summary>
    public Dictionary<int, (int Start, int Offset)> Partial { get; } = [];

    public void CommitPartialChecksum(int length, int checksumStart, int checksumOffset)
    {
        Partial[Frames.Count] = (checksumStart, checksumOffset);
        Commit(length);
    }

    public List<byte[]> Take()
    {
        var list = new List<byte[]>(Frames);
        Frames.Clear();
        Partial.Clear();
        return list;
    }
}

/// <summary>A host side that records what the stack asks for.</summary>
internal sealed class FakeNatHost : INatHost
{
    public List<(TcpConnection Connection, HostTarget Target)> Opened { get; } = [];

    /// <summary>The TTL each of <see cref="Opened"/> was to leave the host with (0: the host's default).</summary>
    public List<byte> OpenedTtls { get; } = [];

    public List<(Ipv4Address Destination, ushort Port, byte[] Payload)> UdpSent { get; } = [];

    /// <summary>The TTL (hop limit) each UDP datagram or echo request was to leave the host with, in order (0: the socket's own).</summary>
    public List<byte> TtlSent { get; } = [];

    public List<(Ipv6Address Destination, ushort Port, byte[] Payload)> Udp6Sent { get; } = [];

    public List<TcpConnection> Closed { get; } = [];

    public int IcmpSent { get; private set; }

    public bool IcmpAvailable { get; set; } = true;

    public void OpenTcp(TcpConnection connection, HostTarget target, byte ttl)
    {
        Opened.Add((connection, target));
        OpenedTtls.Add(ttl);
    }

    public void SyncTcp(TcpConnection connection)
    {
    }

    public void CloseTcp(TcpConnection connection)
    {
        Closed.Add(connection);
        connection.Dispose();
    }

    /// <summary>The UDP flows the stack opened a host socket for, in order.</summary>
    public List<UdpFlow> UdpOpened { get; } = [];

    /// <summary>The errno the next UDP socket opens fail with (0: they open).</summary>
    public int UdpOpenError { get; set; }

    public int OpenUdp(UdpFlow flow)
    {
        if (UdpOpenError != 0)
        {
            return UdpOpenError;
        }

        UdpOpened.Add(flow);
        return 0;
    }

    /// <summary>Whether IPv4 UDP sends fail as for lack of a route (ENETUNREACH).</summary>
    public bool UdpUnreachable { get; set; }

    public bool SendUdp(UdpFlow flow, Ipv4Address destination, ushort port, ReadOnlySpan<byte> payload, byte ttl)
    {
        TtlSent.Add(ttl);
        UdpSent.Add((destination, port, payload.ToArray()));
        return !UdpUnreachable;
    }

    /// <summary>Whether IPv6 UDP sends fail as for lack of a route (ENETUNREACH).</summary>
    public bool Udp6Unreachable { get; set; }

    public bool SendUdp6(UdpFlow flow, Ipv6Address destination, ushort port, ReadOnlySpan<byte> payload, byte hopLimit)
    {
        TtlSent.Add(hopLimit);
        Udp6Sent.Add((destination, port, payload.ToArray()));
        return !Udp6Unreachable;
    }

    /// <summary>The UDP flows whose host sockets the stack closed.</summary>
    public List<UdpFlow> UdpClosed { get; } = [];

    public void CloseUdp(UdpFlow flow) => UdpClosed.Add(flow);

    /// <summary>The echo flows the stack opened a host socket for, in order.</summary>
    public List<IcmpFlow> IcmpOpened { get; } = [];

    public bool OpenIcmp(IcmpFlow flow)
    {
        IcmpOpened.Add(flow);
        return IcmpAvailable;
    }

    /// <summary>Whether echo sends fail as for lack of a route.</summary>
    public bool IcmpUnreachable { get; set; }

    public bool SendIcmp(IcmpFlow flow, ReadOnlySpan<byte> icmp, byte ttl)
    {
        TtlSent.Add(ttl);
        IcmpSent++;
        return !IcmpUnreachable;
    }

    public void CloseIcmp(IcmpFlow flow)
    {
    }
}
