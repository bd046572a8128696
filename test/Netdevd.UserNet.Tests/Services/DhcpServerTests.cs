using System.Text;
using Microsoft.Extensions.Time.Testing;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Services;
using Netdevd.Wire;
using PacketDotNet;
using PacketDotNet.DhcpV4;

namespace Netdevd.UserNet.Tests.Services;

public sealed class DhcpServerTests
{
    private static readonly MacAddress Mac1 = MacAddress.Create(0x52, 0x54, 0, 0x12, 0x34, 0x56);
    private static readonly MacAddress Mac2 = MacAddress.Create(0x52, 0x54, 0, 0x12, 0x34, 0x57);
    private static readonly Ipv4Address Host = Ipv4Address.Create(10, 0, 2, 2);

    private static UserNetConfig Config => new()
    {
        Hostname = "guest1",
        DomainName = "example.org",
        DnsSearch = ["example.org", "lab.example.org"],
        BootFile = "pxelinux.0",
        TftpServerName = "10.0.2.2",
    };

    private static (int Length, byte[] Frame) Send(DhcpServer s, byte[] request)
    {
        var frame = Bytes.Filled(DhcpServer.ReplyFrameLength + 10);
        var n = s.Handle(request, frame);
        return (n, frame);
    }

    private static DhcpMessage Reply(byte[] frame) =>
        DhcpMessage.TryCreate(UdpFrame.Payload(frame)[..DhcpServer.ReplyLength], out var m) ? m : throw new InvalidOperationException();

    [Fact]
    public void A_configured_mtu_is_option_26_of_offers_and_acks()
    {
        var s = new DhcpServer(new UserNetConfig { Mtu = 9000 }, new FakeTimeProvider(), null);
        var (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1));
        var option = Assert.Single(Decode(frame, n).GetOptions(), o => o.OptionType == (DhcpV4OptionType)26);
        Assert.Equal("2328", Bytes.ToHex(option.Data));
        (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Request, Mac1, requested: Ipv4Address.Create(10, 0, 2, 15), serverId: Host));
        Assert.Single(Decode(frame, n).GetOptions(), o => o.OptionType == (DhcpV4OptionType)26);
    }

    [Fact]
    public void Discover_offer_request_ack_as_a_real_client_sees_it()
    {
        var time = new FakeTimeProvider();
        var arp = new ArpTable(Ipv4Address.Create(10, 0, 2, 0), Ipv4Address.MaskFromPrefix(24));
        var s = new DhcpServer(Config, time, arp);

        var (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1));
        Assert.Equal(590, n);
        var offer = Decode(frame, n);
        Assert.Equal(DhcpV4MessageType.Offer, offer.MessageType);
        Assert.Equal("10.0.2.15", offer.YourAddress.ToString());
        Assert.Equal("10.0.2.2", offer.ServerAddress.ToString());
        Assert.Equal(0x11223344u, offer.TransactionId);
        Assert.Equal("525400123456", offer.ClientHardwareAddress.ToString());
        var options = offer.GetOptions();
        Assert.Equal(
            [DhcpV4OptionType.DHCPMsgType, DhcpV4OptionType.DHCPServerId, DhcpV4OptionType.SubnetMask, DhcpV4OptionType.Router,
             DhcpV4OptionType.DomainServer, DhcpV4OptionType.AddressTime, DhcpV4OptionType.HostName, DhcpV4OptionType.DomainName,
             (DhcpV4OptionType)66, (DhcpV4OptionType)119],
            options.Select(o => o.OptionType).ToArray());
        Assert.Equal("0a000202", Bytes.ToHex(options[1].Data));
        Assert.Equal("ffffff00", Bytes.ToHex(options[2].Data));
        Assert.Equal("0a000202", Bytes.ToHex(options[3].Data));
        Assert.Equal("0a000203", Bytes.ToHex(options[4].Data));
        Assert.Equal("00015180", Bytes.ToHex(options[5].Data));
        Assert.Equal("guest1", Encoding.ASCII.GetString(options[6].Data));
        Assert.Equal("example.org", Encoding.ASCII.GetString(options[7].Data));
        Assert.Equal("10.0.2.2", Encoding.ASCII.GetString(options[8].Data));
        Assert.Equal("076578616d706c65036f726700" + "036c6162c000", Bytes.ToHex(options[9].Data));

        // Frame-level: broadcast from 52:55:0a:00:02:02 / 10.0.2.2:67 to 255.255.255.255:68, checksums valid.
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame.AsSpan(0, n).ToArray());
        Assert.Equal("FFFFFFFFFFFF", eth.DestinationHardwareAddress.ToString());
        Assert.Equal("52550A000202", eth.SourceHardwareAddress.ToString());
        var ip = eth.Extract<IPv4Packet>();
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal("255.255.255.255", ip.DestinationAddress.ToString());
        var udp = eth.Extract<PacketDotNet.UdpPacket>();
        Assert.True(udp.ValidUdpChecksum);
        Assert.Equal((ushort)67, udp.SourcePort);
        Assert.Equal((ushort)68, udp.DestinationPort);
        Assert.Equal("pxelinux.0", Encoding.ASCII.GetString(Reply(frame).BootFile).TrimEnd('\0'));

        (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Request, Mac1, requested: Ipv4Address.Create(10, 0, 2, 15), serverId: Host));
        var ack = Decode(frame, n);
        Assert.Equal(DhcpV4MessageType.Ack, ack.MessageType);
        Assert.Equal("10.0.2.15", ack.YourAddress.ToString());
        Assert.True(s.TryGetLease(Mac1, out var lease));
        Assert.Equal(time.GetUtcNow().AddDays(1), lease.Expires);
        Assert.True(arp.TryLookup(Ipv4Address.Create(10, 0, 2, 15), out var learnt));
        Assert.Equal(Mac1, learnt);
    }

    [Fact]
    public void Second_client_gets_next_address_and_first_keeps_its_own()
    {
        var s = new DhcpServer(new UserNetConfig());
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 15), Reply(Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1)).Frame).YourAddress);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 16), Reply(Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac2)).Frame).YourAddress);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 15), Reply(Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1)).Frame).YourAddress);
    }

    [Fact]
    public void Request_for_anothers_address_is_naked_with_libslirps_text()
    {
        var s = new DhcpServer(new UserNetConfig());
        Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1));
        var (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Request, Mac2, requested: Ipv4Address.Create(10, 0, 2, 15)));
        Assert.Equal(590, n);
        var m = Reply(frame);
        Assert.Equal((byte)DhcpMessageType.Nak, m.MessageType);
        Assert.True(m.TryGetOption(DhcpOption.Message, out var text));
        Assert.Equal("requested address not available", Encoding.ASCII.GetString(text));
        Assert.Equal("350106 381f", Bytes.ToHex(m.Options[..5]).Insert(6, " "));

        // Outside the pool too.
        (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Request, Mac2, requested: Ipv4Address.Create(10, 0, 2, 100)));
        Assert.Equal((byte)DhcpMessageType.Nak, Reply(frame).MessageType);
    }

    [Fact]
    public void Request_without_option_50_uses_ciaddr_or_finds_or_allocates()
    {
        var s = new DhcpServer(new UserNetConfig());
        var (_, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Request, Mac1));
        Assert.Equal((byte)DhcpMessageType.Ack, Reply(frame).MessageType);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 15), Reply(frame).YourAddress);

        // Renewing: ciaddr set, no option 50.
        (_, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Request, Mac2, ciaddr: Ipv4Address.Create(10, 0, 2, 20)));
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 20), Reply(frame).YourAddress);
    }

    [Fact]
    public void Bootp_request_gets_an_ack()
    {
        var s = new DhcpServer(new UserNetConfig());
        var (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.None, Mac1, bootp: true));
        Assert.Equal(590, n);
        Assert.Equal((byte)DhcpMessageType.Ack, Reply(frame).MessageType);
    }

    [Fact]
    public void Restrict_omits_router_and_dns_and_pool_exhaustion_is_silent()
    {
        var s = new DhcpServer(new UserNetConfig { Restrict = true });
        var (_, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1));
        var m = Reply(frame);
        Assert.False(m.TryGetOption(DhcpOption.Router, out _));
        Assert.False(m.TryGetOption(DhcpOption.DomainNameServer, out _));
        Assert.True(m.TryGetOption(DhcpOption.SubnetMask, out _));

        for (var i = 1; i < 16; i++)
        {
            Assert.NotEqual(0, Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, MacAddress.FromValue(0x5254_0000_0100UL + (ulong)i))).Length);
        }

        Assert.Equal(0, Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, MacAddress.FromValue(0x5254_0000_0200UL))).Length);
        Assert.Equal(1, s.Dropped);
    }

    [Fact]
    public void Expired_leases_are_reused_only_when_the_pool_is_full()
    {
        var time = new FakeTimeProvider();
        var s = new DhcpServer(new UserNetConfig(), time);
        for (var i = 0; i < 16; i++)
        {
            Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, MacAddress.FromValue(0x5254_0000_0100UL + (ulong)i)));
        }

        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        var (n, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac2));
        Assert.NotEqual(0, n);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 15), Reply(frame).YourAddress);
    }

    [Fact]
    public void Release_frees_and_inform_acks_without_address_or_lease()
    {
        var s = new DhcpServer(new UserNetConfig());
        Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1));
        Assert.Equal(0, Send(s, DhcpTestClient.Request(DhcpMessageType.Release, Mac1, ciaddr: Ipv4Address.Create(10, 0, 2, 15))).Length);
        Assert.False(s.TryGetLease(Mac1, out _));
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 15), Reply(Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac2)).Frame).YourAddress);

        var (_, frame) = Send(s, DhcpTestClient.Request(DhcpMessageType.Inform, Mac1, ciaddr: Ipv4Address.Create(10, 0, 2, 40)));
        var m = Reply(frame);
        Assert.Equal((byte)DhcpMessageType.Ack, m.MessageType);
        Assert.Equal(Ipv4Address.Any, m.YourAddress);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 40), m.ClientAddress);
        Assert.False(m.TryGetOption(DhcpOption.LeaseTime, out _));
        Assert.True(m.TryGetOption(DhcpOption.DomainNameServer, out _));
    }

    [Fact]
    public void Request_for_another_server_and_garbage_are_ignored()
    {
        var s = new DhcpServer(new UserNetConfig());
        Assert.Equal(0, Send(s, DhcpTestClient.Request(DhcpMessageType.Request, Mac1, requested: Ipv4Address.Create(10, 0, 2, 15), serverId: Ipv4Address.Create(10, 0, 2, 9))).Length);
        Assert.Equal(0, Send(s, new byte[100]).Length);
        var reply = DhcpTestClient.Request(DhcpMessageType.Discover, Mac1);
        reply[0] = DhcpMessage.OpReply;
        Assert.Equal(0, Send(s, reply).Length);
        Assert.Equal(0, Send(s, DhcpTestClient.Request(DhcpMessageType.Decline, Mac1)).Length);
    }

    [Fact]
    public void Oversized_dnssearch_is_omitted_like_libslirp()
    {
        var names = Enumerable.Range(0, 10).Select(i => $"{new string((char)('a' + i), 40)}.z{i}").ToArray();
        var s = new DhcpServer(new UserNetConfig { DnsSearch = names });
        var m = Reply(Send(s, DhcpTestClient.Request(DhcpMessageType.Discover, Mac1)).Frame);
        Assert.False(m.TryGetOption(DhcpOption.DomainSearch, out _));
        Assert.True(m.TryGetOption(DhcpOption.LeaseTime, out _));
    }

    private static DhcpV4Packet Decode(byte[] frame, int length)
    {
        var p = Packet.ParsePacket(LinkLayers.Ethernet, frame.AsSpan(0, length).ToArray());
        var d = p.Extract<DhcpV4Packet>();
        Assert.NotNull(d);
        return d;
    }
}
