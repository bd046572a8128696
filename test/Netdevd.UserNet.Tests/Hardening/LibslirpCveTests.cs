using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Services;
using Netdevd.UserNet.Services.Tftp;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.UserNet.Tests.Services;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Hardening;

/// <summary>
/// The frame classes of libslirp's published vulnerabilities, fed to our stack as a hostile guest
/// would send them. For each: no exception, the frame dropped and counted (or answered), and any
/// reply holds exactly the bytes it must (nothing read from beyond the request).
/// </summary>
public sealed class LibslirpCveTests : IDisposable
{
    private static readonly Ipv4Address Dns = Ipv4Address.Create(10, 0, 2, 3);
    private static readonly MacAddress Router = MacAddress.Create(0x52, 0x55, 10, 0, 2, 2);

    private readonly ListSink _sink = new();
    private readonly FakeNatHost _host = new();
    private readonly FakeTimeProvider _time = new();
    private readonly DhcpServer _dhcp;
    private readonly UserStack _stack;

    public LibslirpCveTests()
    {
        _dhcp = new DhcpServer(new UserNetConfig(), _time);
        var tftp = new TftpServer(new MemoryTftpFileSource { ["boot.bin"] = new byte[1000] }, _time);
        _stack = new UserStack(new UserStackOptions(), _sink, _time, _dhcp, tftp);
        _stack.AttachHost(_host);
    }

    public void Dispose() => _stack.Dispose();

    private static byte[] Frame(ushort etherType, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[EthernetFrame.HeaderLength + payload.Length];
        EthernetFrame.WriteHeader(frame, MacAddress.Broadcast, GuestFrames.GuestMac, etherType);
        payload.CopyTo(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    private static Ipv4Packet ParseIp(byte[] frame)
    {
        Assert.True(EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out var ip));
        Assert.True(ip.VerifyChecksum());
        return ip;
    }

    /// <summary>Our next sequence number on the last connection <see cref="Establish"/> opened (what the guest acknowledges).</summary>
    private uint _ourNext;

    private TcpConnection Establish(ushort guestPort, ushort port)
    {
        _stack.Input(GuestFrames.Tcp(GuestFrames.Host, guestPort, port, 100, 0, TcpFlags.Syn, options: new TcpOptions { MaximumSegmentSize = 1460 }));
        var connection = _host.Opened[^1].Connection;
        _stack.OnTcpConnected(connection, true);
        var ip = ParseIp(_sink.Take()[^1]);
        Assert.True(TcpPacket.TryCreate(ip.Payload, out var synAck));
        _ourNext = synAck.SequenceNumber + 1;
        _stack.Input(GuestFrames.Tcp(GuestFrames.Host, guestPort, port, 101, _ourNext, TcpFlags.Ack));
        Assert.Equal(TcpState.Established, connection.State);
        return connection;
    }

    private static byte[] TcpWithUrgentPointer(ushort guestPort, ushort port, uint seq, uint ack, TcpFlags flags, ushort urgentPointer, byte[] payload)
    {
        var frame = GuestFrames.Tcp(GuestFrames.Host, guestPort, port, seq, ack, flags, payload);
        var tcpBytes = frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcpBytes[18..], urgentPointer);
        TcpPacket.CreateUnchecked(tcpBytes).FillChecksum(GuestFrames.Guest, GuestFrames.Host);
        return frame;
    }

    private static byte[] Drain(TcpConnection connection)
    {
        var result = new List<byte>();
        while (connection.HostWriteBuffer() is { Count: > 0 } seg)
        {
            result.AddRange(seg);
            connection.HostWritten(seg.Count);
        }

        return [.. result];
    }

    [Fact]
    public void CVE_2019_6778_urgent_data_and_the_ident_port_reach_the_host_unchanged()
    {
        // libslirp emulated identd on port 113 and copied urgent data apart (sosendoob); a
        // guest-chosen urgent pointer past the data, or an ident reply longer than the buffer,
        // overflowed. We emulate nothing: the bytes arrive in order, urgent pointer ignored.
        var connection = Establish(40113, 113);
        var first = Encoding.ASCII.GetBytes("6193, 23\r\n");
        var second = new byte[1400];
        Array.Fill(second, (byte)'A');
        _stack.Input(TcpWithUrgentPointer(40113, 113, 101, _ourNext, TcpFlags.Ack | TcpFlags.Urg | TcpFlags.Psh, 0xFFFF, first));
        _stack.Input(TcpWithUrgentPointer(40113, 113, 101 + (uint)first.Length, _ourNext, TcpFlags.Ack | TcpFlags.Urg, 0, second));
        _stack.Input(TcpWithUrgentPointer(40113, 113, 101 + (uint)(first.Length + second.Length), _ourNext, TcpFlags.Ack | TcpFlags.Urg, 1, []));

        Assert.Equal([.. first, .. second], Drain(connection));
        Assert.Equal(0, _stack.Counters.TotalDrops);
    }

    [Fact]
    public void CVE_2020_7039_ftp_and_irc_commands_are_not_rewritten()
    {
        // libslirp's tcp_emu rewrote FTP PORT and IRC DCC commands in place and overflowed its
        // buffer doing so. Here they are bytes like any other.
        var ftp = Establish(40021, 21);
        var port = Encoding.ASCII.GetBytes("PORT 10,0,2,15,4,1\r\n");
        _stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40021, 21, 101, _ourNext, TcpFlags.Ack | TcpFlags.Psh, port));
        Assert.Equal(port, Drain(ftp));

        var irc = Establish(46667, 6667);
        var dcc = Encoding.ASCII.GetBytes("PRIVMSG x :\u0001DCC CHAT chat 167772687 4000" + new string('9', 1300) + "\u0001\r\n");
        _stack.Input(GuestFrames.Tcp(GuestFrames.Host, 46667, 6667, 101, _ourNext, TcpFlags.Ack | TcpFlags.Psh, dcc));
        Assert.Equal(dcc, Drain(irc));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CVE_2020_7039_and_CVE_2021_3595_short_tftp_datagrams_are_dropped_and_counted(int length)
    {
        _stack.Input(GuestFrames.Udp(GuestFrames.Host, 40069, 69, new byte[length]));

        Assert.Empty(_sink.Take());
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void CVE_2020_7039_and_CVE_2021_3595_unterminated_tftp_requests_get_an_error_or_nothing()
    {
        byte[][] requests =
        [
            [0, 1, .. Encoding.ASCII.GetBytes("boot.bin")], // no NUL after the name, no mode
            [0, 1, .. Encoding.ASCII.GetBytes("boot.bin\0octet")], // no NUL after the mode
            [0, 1, .. Encoding.ASCII.GetBytes("boot.bin\0octet\0blksize")], // an option without value
            [0, 1, .. Encoding.ASCII.GetBytes("boot.bin\0octet\0blksize\0" + new string('9', 1200) + "\0")],
            [0, 1, .. Encoding.ASCII.GetBytes(new string('a', 1400))],
            [0, 1, 0, 0],
        ];
        var port = (ushort)41000;
        foreach (var request in requests)
        {
            _stack.Input(GuestFrames.Udp(GuestFrames.Host, port++, 69, request));
            foreach (var reply in _sink.Take())
            {
                var ip = ParseIp(reply);
                Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
                Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
                Assert.True(TftpPacket.TryCreate(udp.Payload, out var tftp));
                Assert.True(udp.Payload.Length <= 4 + 1468);
                _ = tftp;
            }
        }
    }

    [Fact]
    public void CVE_2020_1983_pieces_after_a_completed_datagram_start_afresh_and_do_not_touch_the_first()
    {
        // libslirp freed a reassembled datagram's buffer while still using it when pieces were
        // merged into a reallocated one. Here: deliver, then resend every piece and overlapping
        // ones; each complete set is delivered once, with its own bytes.
        var payload = new byte[4000];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 31);
        }

        var pieces = GuestFrames.Fragment(GuestFrames.Udp(GuestFrames.Host, 5000, 7777, payload), 1480, identification: 42);
        foreach (var piece in pieces)
        {
            _stack.Input(piece);
        }

        var first = Assert.Single(_host.UdpSent).Payload;
        Assert.Equal(payload, first);

        _stack.Input(pieces[1]); // a late duplicate: a new datagram in progress, nothing delivered
        Assert.Single(_host.UdpSent);
        _stack.Input(pieces[2]);
        _stack.Input(pieces[0]);
        Assert.Equal(2, _host.UdpSent.Count);
        Assert.Equal(payload, _host.UdpSent[1].Payload);
        Assert.Equal(payload, first);
        Assert.Equal(0, _stack.Counters.TotalDrops);
    }

    [Fact]
    public void CVE_2020_10756_an_echo_reply_carries_exactly_the_requests_bytes()
    {
        // libslirp's echo reply read the request from beyond its buffer. Ours must contain the
        // request's ICMP bytes, no more (not the Ethernet padding), no fewer.
        var small = GuestFrames.Ping(GuestFrames.Host, id: 3, seq: 9, dataLength: 0); // 42 bytes: padded by the link
        var padded = new byte[60];
        small.CopyTo(padded);
        padded.AsSpan(small.Length).Fill(0xEE);
        _stack.Input(padded);
        var reply = ParseIp(Assert.Single(_sink.Take()));
        Assert.Equal(20 + 8, reply.TotalLength);
        Assert.True(IcmpPacket.TryCreate(reply.Payload, out var echo));
        Assert.Equal(IcmpPacket.TypeEchoReply, echo.Header.Type);
        Assert.Equal(small.AsSpan(34 + 4).ToArray(), reply.Payload[4..].ToArray());

        // With IP options: the reply echoes the ICMP bytes only.
        var icmp = new byte[8 + 100];
        var request = IcmpHeader.CreateUnchecked(icmp);
        request.Type = IcmpPacket.TypeEchoRequest;
        request.Identifier = 4;
        icmp.AsSpan(8).Fill(0x5A);
        IcmpPacket.CreateUnchecked(icmp).FillChecksum();
        _stack.Input(RawFragments.Frame(GuestFrames.Host, IpProtocol.Icmp, 1, 0, more: false, icmp, optionsLength: 40));
        reply = ParseIp(Assert.Single(_sink.Take()));
        Assert.Equal(20 + icmp.Length, reply.TotalLength);
        Assert.Equal(icmp.AsSpan(4).ToArray(), reply.Payload[4..].ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(7)]
    public void CVE_2020_10756_echo_requests_shorter_than_an_icmp_header_are_dropped_and_counted(int icmpLength)
    {
        var l4 = new byte[icmpLength];
        if (icmpLength > 0)
        {
            l4[0] = IcmpPacket.TypeEchoRequest;
        }

        _stack.Input(GuestFrames.Ip(GuestFrames.Host, IpProtocol.Icmp, l4));
        Assert.Empty(_sink.Take());
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void CVE_2020_10756_an_ip_length_beyond_the_frame_is_dropped_and_counted()
    {
        var frame = GuestFrames.Ping(GuestFrames.Host, id: 5, seq: 1, dataLength: 56);
        var ip = Ipv4Packet.CreateUnchecked(frame.AsSpan(EthernetFrame.HeaderLength));
        ip.TotalLength = 1500; // claims far more than the frame holds
        ip.FillChecksum();
        _stack.Input(frame);

        Assert.Empty(_sink.Take());
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void CVE_2020_29129_and_29130_short_arp_frames_are_dropped_and_counted()
    {
        var full = GuestFrames.ArpRequest(GuestFrames.Host);
        for (var length = EthernetFrame.HeaderLength; length < EthernetFrame.HeaderLength + 28; length++)
        {
            _stack.Input(full.AsSpan(0, length));
        }

        Assert.Empty(_sink.Take());
        Assert.Equal(28, _stack.Counters.Drops(FrameDropReason.Malformed));

        // The whole request is still answered, with the asker's addresses and ours, nothing else.
        _stack.Input(full.AsSpan(0, EthernetFrame.HeaderLength + 28));
        var reply = Assert.Single(_sink.Take());
        Assert.True(EthernetFrame.TryCreate(reply, out var eth));
        Assert.True(ArpPacket.TryCreate(eth.Payload, out var arp));
        Assert.Equal(ArpPacket.OperationReply, arp.Operation);
        Assert.Equal(GuestFrames.Guest, arp.TargetProtocolAddress);
        Assert.Equal(GuestFrames.GuestMac, arp.TargetHardwareAddress);
        Assert.Equal(GuestFrames.Host, arp.SenderProtocolAddress);
        Assert.Equal(Router, arp.SenderHardwareAddress);
        Assert.All(reply[(EthernetFrame.HeaderLength + 28)..], b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(16)]
    [InlineData(46)]
    public void CVE_2020_29129_ncsi_frames_of_any_length_are_dropped_and_counted(int length)
    {
        // NC-SI (EtherType 0x88F8): libslirp answered it and read past short requests. We do not
        // speak it at all.
        var payload = new byte[length];
        if (length > 0)
        {
            Array.Fill(payload, (byte)0xFF);
        }

        _stack.Input(Frame(0x88F8, payload));
        Assert.Empty(_sink.Take());
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.UnsupportedEtherType));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(235)]
    public void CVE_2021_3592_short_bootp_requests_get_no_reply_and_are_counted(int length)
    {
        var request = DhcpTestClient.Request(DhcpMessageType.Discover, GuestFrames.GuestMac);
        _stack.Input(GuestFrames.Udp(Ipv4Address.Broadcast, 68, 67, request[..length]));

        Assert.Empty(_sink.Take());
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void CVE_2021_3592_bootp_options_that_run_past_the_end_are_not_read_beyond_it()
    {
        // A DISCOVER whose last option claims 255 bytes it does not have.
        var request = DhcpTestClient.Request(DhcpMessageType.Discover, GuestFrames.GuestMac);
        var cut = request.AsSpan(0, DhcpMessage.OptionsOffset + 3 + 2).ToArray();
        cut[^2] = 50; // requested address
        cut[^1] = 255;
        _stack.Input(GuestFrames.Udp(Ipv4Address.Broadcast, 68, 67, cut));

        var reply = ParseIp(Assert.Single(_sink.Take()));
        Assert.True(UdpPacket.TryCreate(reply.Payload, out var udp));
        Assert.True(DhcpMessage.TryCreate(udp.Payload, out var offer));
        Assert.Equal((byte)DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 15), offer.YourAddress);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(39)]
    [InlineData(40)]
    [InlineData(48)]
    public void CVE_2021_3593_ipv6_frames_of_any_length_are_dropped_and_counted(int length)
    {
        // libslirp's udp6_input read a UDP header from an IPv6 packet too short for it. No IPv6 here.
        var payload = new byte[length];
        if (length > 0)
        {
            payload[0] = 0x60;
        }

        if (length >= 40)
        {
            payload[6] = 17; // next header: UDP
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4), (ushort)(length - 40 + 100));
        }

        _stack.Input(Frame(0x86DD, payload));
        Assert.Empty(_sink.Take());
        Assert.Equal(1, _stack.Counters.Drops(FrameDropReason.UnsupportedEtherType));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x9C, 0x40, 0x00 })]
    [InlineData(new byte[] { 0x9C, 0x40, 0x00, 0x35, 0x00, 0x04, 0x00, 0x00 })] // length field < 8
    [InlineData(new byte[] { 0x9C, 0x40, 0x00, 0x35, 0x01, 0x00, 0x00, 0x00, 1, 2 })] // length field beyond the datagram
    public void CVE_2021_3594_short_udp_datagrams_are_dropped_and_counted(byte[] l4)
    {
        _stack.Input(GuestFrames.Ip(Dns, IpProtocol.Udp, l4));
        _stack.Input(GuestFrames.Ip(Ipv4Address.Create(192, 0, 2, 1), IpProtocol.Udp, l4));

        Assert.Empty(_sink.Take());
        Assert.Empty(_host.UdpSent);
        Assert.Equal(2, _stack.Counters.Drops(FrameDropReason.Malformed));
    }
}
