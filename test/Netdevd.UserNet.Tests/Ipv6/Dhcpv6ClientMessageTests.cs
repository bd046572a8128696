using Netdevd.UserNet.Services;
using Netdevd.Wire;
using static Netdevd.UserNet.Tests.Ipv6.Dhcpv6StatefulStackTests;
using static Netdevd.UserNet.Tests.Ipv6.Guest6Frames;

namespace Netdevd.UserNet.Tests.Ipv6;

/// <summary>
/// The stateful server's reading of a client message, and hostile input straight into the server:
/// every truncation and every one-octet change of well-formed messages, and random ones, get an
/// answer or none, never an exception, and an answer always parses.
/// </summary>
public sealed class Dhcpv6ClientMessageTests
{
    private static readonly Dhcpv6Server Server = new(Parse("fec0::3"), [], RouterMac, Parse("fec0::15"));

    private static readonly string[] WellFormed =
    [
        "01123456" + ClientId + IaNa + OptionRequest,
        "03123456" + ClientId + OurServerId + IaNaLeased + OptionRequest,
        "04123456" + ClientId + IaNaElsewhere + "0004 0020 00000001" + "0005 0018" + Leased + "00000000 00000000",
        "06123456" + ClientId + IaNaElsewhere,
        "0b123456" + ClientId + OptionRequest,
    ];

    [Fact]
    public void A_well_formed_message_is_read_whole()
    {
        Assert.True(Dhcpv6ClientMessage.TryParse(Bytes.Hex(WellFormed[2]), out var m));
        Assert.Equal(4, m.Type);
        Assert.Equal("123456", Bytes.ToHex(m.TransactionId));
        Assert.Equal("00030001525400123456", Bytes.ToHex(m.ClientId));
        Assert.False(m.HasServerId);
        Assert.Equal(2, m.AddressCount);
        Assert.Equal("0000abcd", Bytes.ToHex(m.FirstIaNa[..4]));
        Assert.True(m.TryFindOtherAddress(Parse("fec0::15"), out var code, out var ia));
        Assert.Equal((ushort)3, code);
        Assert.Equal("0000abcd", Bytes.ToHex(ia[..4]));
        Assert.True(m.TryFindOtherAddress(Parse("fec0::99"), out code, out ia));
        Assert.Equal(((ushort)4, "00000001"), (code, Bytes.ToHex(ia[..4])));
    }

    [Fact]
    public void An_address_in_an_ia_ta_is_judged_too()
    {
        Assert.True(Dhcpv6ClientMessage.TryParse(Bytes.Hex("04000001" + ClientId + IaNaLeased + "0004 0020 00000007" + "0005 0018" + Elsewhere + "00000000 00000000"), out var m));
        Assert.True(m.TryFindOtherAddress(Parse("fec0::15"), out var code, out var ia));
        Assert.Equal(((ushort)4, "00000007"), (code, Bytes.ToHex(ia[..4])));
    }

    [Fact]
    public void Every_truncation_is_refused_or_answered_without_throwing()
    {
        var reply = new byte[Server.MaxReplyLength];
        foreach (var hex in WellFormed)
        {
            var message = Bytes.Hex(hex);
            for (var length = 0; length < message.Length; length++)
            {
                // A cut inside an option leaves it longer than what is left: refused (the stateless
                // Information-request, as libslirp, overlooks up to three octets past the last option).
                var n = Server.Handle(message.AsSpan(0, length), reply);
                Assert.True(n == 0 || message[0] == 0x0b || Dhcpv6ClientMessage.TryParse(message.AsSpan(0, length), out _), $"{hex} cut at {length}");
                AssertWellFormedReply(reply.AsSpan(0, n));
            }

            Assert.NotEqual(0, Server.Handle(message, reply));
        }
    }

    [Fact]
    public void Every_one_octet_change_and_random_input_is_answered_or_not_without_throwing()
    {
        var reply = new byte[Server.MaxReplyLength];
        foreach (var hex in WellFormed)
        {
            var message = Bytes.Hex(hex);
            for (var i = 0; i < message.Length; i++)
            {
                foreach (var value in (ReadOnlySpan<byte>)[0, 1, 2, 3, 4, 5, 0x7f, 0x80, 0xfe, 0xff])
                {
                    var changed = (byte[])message.Clone();
                    changed[i] = value;
                    AssertWellFormedReply(reply.AsSpan(0, Server.Handle(changed, reply)));
                }
            }
        }

        var random = new Random(8415);
        for (var i = 0; i < 20_000; i++)
        {
            var message = new byte[random.Next(0, 200)];
            random.NextBytes(message);
            if (message.Length > 0)
            {
                message[0] = (byte)random.Next(0, 13);
            }

            AssertWellFormedReply(reply.AsSpan(0, Server.Handle(message, reply)));
        }
    }

    [Fact]
    public void A_reply_buffer_too_small_gets_nothing_written()
    {
        var reply = new byte[Server.MaxReplyLength - 1];
        Assert.Equal(0, Server.Handle(Bytes.Hex(WellFormed[0]), reply));
        Assert.All(reply, b => Assert.Equal(0, b));
    }

    /// <summary>
    /// A reply is an Advertise or Reply with our server identifier whose options, and those inside
    /// its IA_NA, lie within it (read as a client message would be, which the stateless Reply to
    /// an Information-request passes too unless it echoes a client identifier past a DUID's size).
    /// </summary>
    private static void AssertWellFormedReply(ReadOnlySpan<byte> reply)
    {
        if (reply.IsEmpty)
        {
            return;
        }

        Assert.True(reply[0] is 2 or 7);
        if (Dhcpv6ClientMessage.TryParse(reply, out var parsed))
        {
            Assert.Equal("00030001525600000002", Bytes.ToHex(parsed.ServerId));
        }
        else
        {
            Assert.True(reply.Length > 4 + 4 + 130, Bytes.ToHex(reply));
        }
    }
}
