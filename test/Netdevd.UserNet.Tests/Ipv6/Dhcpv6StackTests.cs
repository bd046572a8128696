using System.Buffers.Binary;
using Netdevd.UserNet.Interface;
using Netdevd.Wire;
using static Netdevd.UserNet.Tests.Ipv6.Guest6Frames;

namespace Netdevd.UserNet.Tests.Ipv6;

public sealed class Dhcpv6StackTests : Ipv6StackHarness
{
    /// <summary>Information-request, xid 0x123456: client id (DUID-LL), option request for DNS (23) and domains (24).</summary>
    private const string InformationRequest = "0b123456" + "0001000a 0003 0001 525400123456" + "0006 0004 0017 0018" + "0008 0002 0000";

    private static Dictionary<ushort, byte[]> Options(ReadOnlySpan<byte> message)
    {
        var result = new Dictionary<ushort, byte[]>();
        var o = message[4..];
        while (o.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(o[2..]);
            result[BinaryPrimitives.ReadUInt16BigEndian(o)] = o.Slice(4, length).ToArray();
            o = o[(4 + length)..];
        }

        return result;
    }

    [Fact]
    public void Information_request_gets_dns_server_and_search_list()
    {
        Stack.Input(Udp(GuestLinkLocal, Ipv6Address.AllDhcpServers, 546, 547, Bytes.Hex(InformationRequest)));
        var ip = Read(Assert.Single(Sink.Take()), out var eth);
        Assert.Equal(GuestMac, eth.Destination);
        Assert.Equal(Gateway, ip.Source);
        Assert.Equal(GuestLinkLocal, ip.Destination);
        Assert.Equal(IpProtocol.Udp, ip.NextHeader);
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(547, udp.SourcePort);
        Assert.Equal(546, udp.DestinationPort);
        var reply = udp.Payload;
        Assert.Equal("07123456", Bytes.ToHex(reply[..4]));
        var options = Options(reply);
        Assert.Equal("00030001525400123456", Bytes.ToHex(options[1]));
        Assert.Equal("00030001525600000002", Bytes.ToHex(options[2])); // DUID-LL of the router's MAC
        Assert.Equal("fec00000000000000000000000000003", Bytes.ToHex(options[23]));
        Assert.Equal("076578616d706c65036f726700" + "04636f7270076578616d706c6500", Bytes.ToHex(options[24]));
    }

    [Fact]
    public void Only_what_the_client_asks_for_is_sent()
    {
        Stack.Input(Udp(GuestLinkLocal, Ipv6Address.AllDhcpServers, 546, 547, Bytes.Hex("0b000001")));
        var ip = Read(Assert.Single(Sink.Take()), out _);
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.Equal(new ushort[] { 2 }, Options(udp.Payload).Keys.ToArray());
    }

    [Theory]
    [InlineData("01123456 0001000a 0003 0001 525400123456")] // Solicit: stateful, not served (as libslirp)
    [InlineData("0b123456 0003 000c 00000001 00000000 00000000")] // an IA_NA in an Information-request
    [InlineData("0b123456 0006 0003 001700")] // odd option request
    [InlineData("0b123456 0006 0010 0017")] // option longer than the message
    [InlineData("0b12")]
    public void Anything_else_gets_no_answer(string hex)
    {
        Stack.Input(Udp(GuestLinkLocal, Ipv6Address.AllDhcpServers, 546, 547, Bytes.Hex(hex)));
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void A_zero_udp_checksum_is_invalid_over_ipv6()
    {
        var frame = Udp(GuestLinkLocal, Ipv6Address.AllDhcpServers, 546, 547, Bytes.Hex(InformationRequest));
        frame[14 + 40 + 6] = 0;
        frame[14 + 40 + 7] = 0;
        Stack.Input(frame);
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.BadChecksum));
    }
}
