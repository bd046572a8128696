using Netdevd.UserNet.Interface;
using Netdevd.Wire;
using static Netdevd.UserNet.Tests.Ipv6.Guest6Frames;

namespace Netdevd.UserNet.Tests.Ipv6;

public sealed class ExtensionHeaderStackTests : Ipv6StackHarness
{
    private static byte[] WithExtensions(byte first, string extensionsHex, byte[] upper, Ipv6Address? destination = null)
    {
        var ext = Bytes.Hex(extensionsHex);
        var payload = new byte[ext.Length + upper.Length];
        ext.CopyTo(payload, 0);
        upper.CopyTo(payload, ext.Length);
        var d = destination ?? Gateway;
        Icmpv6Packet.CreateUnchecked(payload.AsSpan(ext.Length)).FillChecksum(Guest, d);
        return Ip(Guest, d, first, payload);
    }

    [Fact]
    public void Echo_behind_skippable_extension_headers_is_answered()
    {
        // hop-by-hop (router alert) then destination options (PadN), then ICMPv6.
        Stack.Input(WithExtensions(Ipv6ExtensionHeader.HopByHop, "3c00 0502 0000 0100" + "3a00 0104 00000000", EchoRequest(1, 2)));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out _, out _);
        Assert.Equal(Icmpv6Packet.TypeEchoReply, icmp.Header.Type);
    }

    [Fact]
    public void An_unknown_next_header_gets_parameter_problem_code_1_pointing_at_it()
    {
        Stack.Input(Ip(Guest, Gateway, 253, new byte[16]));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(Icmpv6Packet.TypeParameterProblem, icmp.Header.Type);
        Assert.Equal(Icmpv6Packet.CodeUnrecognizedNextHeader, icmp.Header.Code);
        Assert.Equal(6u, icmp.Header.RestOfHeader);
        Assert.Equal(RouterLinkLocal, ip.Source);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.UnsupportedProtocol));
        Assert.Equal(1, Stack.Icmpv6ErrorsSent);
    }

    [Fact]
    public void An_option_that_must_be_reported_gets_parameter_problem_code_2()
    {
        Stack.Input(WithExtensions(Ipv6ExtensionHeader.DestinationOptions, "3a00 8302 0000 0100", EchoRequest(1, 2)));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out _, out _);
        Assert.Equal(Icmpv6Packet.TypeParameterProblem, icmp.Header.Type);
        Assert.Equal(Icmpv6Packet.CodeUnrecognizedOption, icmp.Header.Code);
        Assert.Equal(42u, icmp.Header.RestOfHeader);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.ExtensionHeader));
    }

    [Fact]
    public void An_option_that_says_discard_is_dropped_silently_but_counted()
    {
        Stack.Input(WithExtensions(Ipv6ExtensionHeader.DestinationOptions, "3a00 4302 0000 0100", EchoRequest(1, 2)));
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.ExtensionHeader));
        Assert.Equal(0, Stack.Icmpv6ErrorsSent);
    }

    [Fact]
    public void A_looping_length_chain_of_destination_options_is_dropped_and_counted()
    {
        var one = "3c00 0104 00000000";
        Stack.Input(WithExtensions(Ipv6ExtensionHeader.DestinationOptions, string.Concat(Enumerable.Repeat(one, 40)) + "3a00 0104 00000000", EchoRequest(1, 2)));
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.ExtensionHeader));
    }

    [Fact]
    public void A_truncated_chain_is_dropped_as_malformed()
    {
        Stack.Input(Ip(Guest, Gateway, Ipv6ExtensionHeader.HopByHop, Bytes.Hex("3a05 0502 0000 0100")));
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void Errors_are_never_sent_about_errors_or_to_multicast()
    {
        // An ICMPv6 error from the guest behind an unknown option: no error about an error.
        var error = new byte[8];
        error[0] = Icmpv6Packet.TypeDestinationUnreachable;
        Stack.Input(WithExtensions(Ipv6ExtensionHeader.DestinationOptions, "3a00 8302 0000 0100", error));

        // Unknown next header to a multicast group: dropped without an answer.
        Stack.Input(Ip(Guest, Ipv6Address.AllNodes, 253, new byte[16], destinationMac: Ipv6Address.AllNodes.MulticastMac));
        Assert.Empty(Sink.Take());
        Assert.Equal(0, Stack.Icmpv6ErrorsSent);
    }

    [Fact]
    public void Every_truncation_and_mutation_of_ipv6_frames_is_counted_never_thrown()
    {
        byte[][] seeds =
        [
            Ping(Gateway), RouterSolicitation(GuestLinkLocal), NeighborSolicitation(GuestLinkLocal, Gateway),
            WithExtensions(Ipv6ExtensionHeader.HopByHop, "3c00 0502 0000 0100" + "3a00 0104 00000000", EchoRequest(1, 2)),
            Fragment(Ping(Gateway, dataLength: 100), 48)[0],
            Udp(GuestLinkLocal, Ipv6Address.AllDhcpServers, 546, 547, Bytes.Hex("0b123456 0006 0004 0017 0018")),
        ];
        var random = new Random(6);
        foreach (var seed in seeds)
        {
            for (var len = 0; len <= seed.Length; len++)
            {
                Stack.Input(seed.AsSpan(0, len));
            }

            for (var i = 0; i < 2000; i++)
            {
                var copy = (byte[])seed.Clone();
                for (var k = random.Next(1, 4); k > 0; k--)
                {
                    copy[random.Next(14, copy.Length)] = (byte)random.Next(256);
                }

                Stack.Input(copy);
            }

            Stack.Poll();
        }

        Assert.True(Stack.Counters.TotalDrops > 0);
    }
}
