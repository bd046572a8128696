using System.Buffers.Binary;
using Netdevd.UserNet.Interface;
using Netdevd.Wire;
using static Netdevd.UserNet.Tests.Ipv6.Guest6Frames;

namespace Netdevd.UserNet.Tests.Ipv6;

/// <summary>
/// Stateful DHCPv6 (ipv6-dhcp-address=fec0::15) as passt's: each message type the guest's client
/// sends, what comes back, and the router advertisement's managed flag.
/// </summary>
public sealed class Dhcpv6StatefulStackTests : Ipv6StackHarness
{
    internal const string ClientId = "0001000a 0003 0001 525400123456";
    internal const string OurServerId = "0002000a 0003 0001 525600000002";
    internal const string OptionRequest = "0006 0004 0017 0018";
    internal const string IaNa = "0003000c 0000abcd 00000e10 00001518";
    internal const string Leased = "fec00000000000000000000000000015";
    internal const string Elsewhere = "fec00000000000000000000000000099";

    /// <summary>The IA_NA every answer carries: the client's IAID, infinite T1 and T2, fec0::15 with infinite lifetimes.</summary>
    private const string Assigned = "0000abcd ffffffff ffffffff" + "0005 0018" + Leased + "ffffffff ffffffff";

    private const string NotOnLink = "0004" + "507265666978206e6f7420617070726f70726961746520666f72206c696e6b2e";

    public Dhcpv6StatefulStackTests() => Recreate(Options() with { Ipv6DhcpAddress = Parse("fec0::15") });

    /// <summary>IA_NAs (IAID 0000abcd, T1 3600, T2 5400) holding fec0::15 and fec0::99.</summary>
    internal const string IaNaLeased = "0003 0028 0000abcd 00000e10 00001518" + "0005 0018" + Leased + "00000000 00000000";
    internal const string IaNaElsewhere = "0003 0028 0000abcd 00000e10 00001518" + "0005 0018" + Elsewhere + "00000000 00000000";

    internal static List<(ushort Code, string Body)> Options(ReadOnlySpan<byte> message)
    {
        var result = new List<(ushort, string)>();
        var o = message[4..];
        while (o.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(o[2..]);
            result.Add((BinaryPrimitives.ReadUInt16BigEndian(o), Bytes.ToHex(o.Slice(4, length))));
            o = o[(4 + length)..];
        }

        Assert.True(o.IsEmpty, "the reply's options run past its end");
        return result;
    }

    private static string Hex(string spaced) => spaced.Replace(" ", string.Empty, StringComparison.Ordinal);

    private byte[]? Exchange(string hex)
    {
        Stack.Input(Udp(GuestLinkLocal, Ipv6Address.AllDhcpServers, 546, 547, Bytes.Hex(hex)));
        var frames = Sink.Take();
        if (frames.Count == 0)
        {
            return null;
        }

        var ip = Read(Assert.Single(frames), out _);
        Assert.Equal(GuestLinkLocal, ip.Destination);
        Assert.True(UdpPacket.TryCreate(ip.Payload, out var udp));
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal((547, 546), (udp.SourcePort, udp.DestinationPort));
        return udp.Payload.ToArray();
    }

    private static void AssertAssigned(byte[]? reply, string header)
    {
        Assert.NotNull(reply);
        Assert.Equal(header, Bytes.ToHex(reply.AsSpan(0, 4)));
        Assert.Equal(
            [
                (1, Bytes.ToHex(Bytes.Hex(ClientId).AsSpan(4))),
                (2, Bytes.ToHex(Bytes.Hex(OurServerId).AsSpan(4))),
                (3, Hex(Assigned)),
                (23, "fec00000000000000000000000000003"),
                (24, "076578616d706c65036f726700" + "04636f7270076578616d706c6500"),
            ],
            Options(reply));
    }

    [Fact]
    public void Solicit_gets_an_advertise_with_the_address()
    {
        AssertAssigned(Exchange("01123456" + ClientId + IaNa + OptionRequest), "02123456");
    }

    [Fact]
    public void Solicit_hinting_another_address_still_gets_the_configured_one()
    {
        AssertAssigned(Exchange("01123456" + ClientId + IaNaElsewhere + OptionRequest), "02123456");
    }

    [Theory]
    [InlineData("03")] // Request
    [InlineData("05")] // Renew
    public void Request_and_renew_with_our_server_id_get_a_reply_with_the_address(string type)
    {
        AssertAssigned(Exchange(type + "654321" + ClientId + OurServerId + IaNaLeased + OptionRequest), "07654321");
    }

    [Fact]
    public void Rebind_without_a_server_id_gets_a_reply_with_the_address()
    {
        AssertAssigned(Exchange("06654321" + ClientId + IaNaLeased + OptionRequest), "07654321");
    }

    [Fact]
    public void Confirm_of_the_address_gets_a_reply_with_it()
    {
        AssertAssigned(Exchange("04000001" + ClientId + IaNaLeased + OptionRequest), "07000001");
    }

    [Fact]
    public void Confirm_of_another_address_gets_not_on_link_in_the_message()
    {
        var reply = Exchange("04000001" + ClientId + IaNaElsewhere + OptionRequest);
        Assert.NotNull(reply);
        Assert.Equal("07000001", Bytes.ToHex(reply.AsSpan(0, 4)));
        Assert.Equal(
            [
                (1, Bytes.ToHex(Bytes.Hex(ClientId).AsSpan(4))),
                (2, Bytes.ToHex(Bytes.Hex(OurServerId).AsSpan(4))),
                (13, Hex(NotOnLink)),
            ],
            Options(reply));
    }

    [Theory]
    [InlineData("03" + "000002" + ClientId + OurServerId)] // Request
    [InlineData("05" + "000002" + ClientId + OurServerId)] // Renew
    [InlineData("06" + "000002" + ClientId)] // Rebind
    public void Another_address_in_a_request_renew_or_rebind_gets_its_ia_back_with_not_on_link(string head)
    {
        var reply = Exchange(head + IaNaElsewhere + OptionRequest);
        Assert.NotNull(reply);
        Assert.Equal("07000002", Bytes.ToHex(reply.AsSpan(0, 4)));
        Assert.Equal(
            [
                (1, Bytes.ToHex(Bytes.Hex(ClientId).AsSpan(4))),
                (2, Bytes.ToHex(Bytes.Hex(OurServerId).AsSpan(4))),
                (3, "0000abcd00000e1000001518" + "000d0022" + Hex(NotOnLink)),
            ],
            Options(reply));
    }

    [Fact]
    public void Only_the_dns_options_asked_for_are_sent_and_the_first_ia_na_is_answered()
    {
        var reply = Exchange("01000003" + ClientId + IaNa + "0003000c 00000002 00000000 00000000" + "0006 0002 0017");
        Assert.NotNull(reply);
        Assert.Equal([1, 2, 3, 23], Options(reply).Select(o => (int)o.Code));
        Assert.StartsWith("0000abcd", Options(reply)[2].Body, StringComparison.Ordinal);

        // Without an IA_NA the answer carries none.
        reply = Exchange("01000004" + ClientId);
        Assert.NotNull(reply);
        Assert.Equal([1, 2], Options(reply).Select(o => (int)o.Code));
    }

    [Fact]
    public void Information_request_is_answered_as_without_an_address()
    {
        const string request = "0b123456" + ClientId + OptionRequest + "0008 0002 0000";
        var stateful = Exchange(request);
        Recreate(Ipv6StackHarness.Options());
        Assert.Equal(Bytes.ToHex(Exchange(request)), Bytes.ToHex(stateful));
    }

    [Theory]
    [InlineData("01000009" + OurServerId + ClientId + IaNa)] // Solicit naming a server
    [InlineData("03000009" + ClientId + IaNaLeased)] // Request without a server id
    [InlineData("03000009" + ClientId + "0002000a 0003 0001 525600000003" + IaNaLeased)] // Request to another server
    [InlineData("05000009" + ClientId + "0002000a 0003 0001 525600000003" + IaNaLeased)] // Renew to another server
    [InlineData("06000009" + ClientId + OurServerId + IaNaLeased)] // Rebind naming a server (RFC 8415 16.8)
    [InlineData("04000009" + ClientId + OurServerId + IaNaLeased)] // Confirm naming a server
    [InlineData("04000009" + ClientId + IaNa)] // Confirm without an address to judge
    [InlineData("08000009" + ClientId + OurServerId + IaNaLeased)] // Release: not answered, as passt
    [InlineData("09000009" + ClientId + OurServerId + IaNaLeased)] // Decline
    [InlineData("0c000009" + ClientId)] // Relay-forward
    [InlineData("07000009" + ClientId + OurServerId)] // a server's Reply
    public void Messages_the_server_must_not_answer_get_nothing(string hex)
    {
        Assert.Null(Exchange(hex));
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Theory]
    [InlineData("01000009" + IaNa)] // no client id
    [InlineData("01000009" + ClientId + ClientId + IaNa)] // client id twice
    [InlineData("03000009" + ClientId + OurServerId + OurServerId + IaNaLeased)] // server id twice
    [InlineData("01000009" + ClientId + OptionRequest + OptionRequest)] // option request twice
    [InlineData("01000009" + ClientId + "0006 0003 001700")] // odd option request
    [InlineData("01000009" + "0001 0002 0003")] // a client id too short for a DUID
    [InlineData("01000009" + "0001 0083 0003" + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")] // 131 octets: past a DUID's 130
    [InlineData("01000009" + ClientId + "0003 0008 0000abcd 00000000")] // IA_NA without T1/T2
    [InlineData("01000009" + ClientId + "0004 0002 0000")] // IA_TA without its IAID
    [InlineData("04000009" + ClientId + "0003 001c 0000abcd 00000000 00000000" + "0005 000c" + "fec00000000000000000000000000015")] // IA Address without lifetimes
    [InlineData("04000009" + ClientId + "0003 0024 0000abcd 00000000 00000000" + "0005 0018" + Leased + "00000000 00000000")] // IA Address longer than its IA_NA
    [InlineData("04000009" + ClientId + "0003 002c 0000abcd 00000000 00000000" + "0005 001c" + Leased + "00000000 00000000" + "000d0002")] // an IA Address option running past its end
    [InlineData("04000009" + ClientId + "0005 0018" + Leased + "00000000 00000000")] // IA Address outside an IA
    [InlineData("01000009" + ClientId + "0003 0010")] // an option longer than the message
    [InlineData("01000009" + ClientId + "00")] // trailing octets
    [InlineData("01000009" + ClientId + "000300")]
    [InlineData("010000")] // shorter than the header
    [InlineData("")]
    public void Malformed_messages_get_nothing(string hex)
    {
        Assert.Null(Exchange(hex));
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void The_advertisement_sets_the_managed_flag_and_keeps_the_prefix_autonomous()
    {
        Stack.Input(RouterSolicitation(GuestLinkLocal));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out _, out _);
        Assert.True(NdpRouterAdvertisement.TryCreate(icmp.Bytes, out var ra));
        Assert.True(ra.Managed);
        Assert.False(ra.OtherConfiguration);
        var reader = new NdpOptionReader(ra.Options);
        var autonomous = false;
        while (reader.TryNext(out var type, out var option))
        {
            if (type == NdpOption.PrefixInformation)
            {
                Assert.True(NdpOptionReader.TryReadPrefixInformation(option, out var info));
                Assert.Equal(new NdpPrefixInformation(Parse("fec0::"), 64, true, true, 86400, 14400), info);
                autonomous = true;
            }
        }

        Assert.True(autonomous);
    }
}
