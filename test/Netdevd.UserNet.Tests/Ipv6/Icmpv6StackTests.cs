using Netdevd.UserNet.Interface;
using Netdevd.Wire;
using static Netdevd.UserNet.Tests.Ipv6.Guest6Frames;

namespace Netdevd.UserNet.Tests.Ipv6;

public sealed class Icmpv6StackTests : Ipv6StackHarness
{
    [Theory]
    [InlineData("fec0::2")]
    [InlineData("fe80::2")]
    [InlineData("fec0::3")]
    public void Ping_of_a_virtual_address_is_answered_in_the_stack(string target)
    {
        var t = Parse(target);
        Stack.Input(Ping(t, id: 0x4242, seq: 9, dataLength: 56));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out var eth);
        Assert.Equal(Icmpv6Packet.TypeEchoReply, icmp.Header.Type);
        Assert.Equal(0x4242, icmp.Header.Identifier);
        Assert.Equal(9, icmp.Header.SequenceNumber);
        Assert.Equal(56, icmp.Header.Data.Length);
        Assert.Equal(t, ip.Source);
        Assert.Equal(Guest, ip.Destination);
        Assert.Equal(GuestMac, eth.Destination);
        Assert.Empty(Icmp6.Sent);
    }

    [Fact]
    public void The_icmp_flow_limit_counts_both_families()
    {
        // As for UDP: each family counted only its own flows, so a guest could hold twice the limit.
        Recreate(Options() with { Limits = new Netdevd.UserNet.Nat.NatLimits { MaxIcmpFlows = 2 } });
        Stack.Input(Ping(Parse("2001:db8::1"), id: 1, seq: 1));
        Stack.Input(Ping(Parse("2001:db8::2"), id: 2, seq: 1));
        Assert.Equal(2, Stack.Icmpv6FlowCount);

        Stack.Input(Netdevd.UserNet.Tests.Nat.GuestFrames.Ping(Ipv4Address.Create(192, 0, 2, 7), 3, 1));
        Assert.Equal(0, Stack.IcmpFlowCount);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.IcmpFlowLimit));
    }

    [Fact]
    public void Query_usernet_lists_an_icmpv6_echo_stream_with_its_destination()
    {
        Stack.Input(Ping(Parse("2001:db8::1"), id: 0x77, seq: 3));
        var flows = new List<Netdevd.Qapi.Schema.UsernetFlowInfo>();
        Stack.CollectFlows(flows);

        var echo = Assert.Single(flows);
        Assert.Equal(("icmp", "outbound", Guest.ToString(), 0x77, "2001:db8::1"),
            (echo.Protocol, echo.Direction, echo.GuestAddr, echo.GuestPort, echo.ForeignAddr));
    }

    [Fact]
    public void Ping_of_an_outside_address_goes_through_the_host_socket_and_the_reply_comes_back()
    {
        var target = Parse("2001:db8::1");
        Stack.Input(Ping(target, id: 0x77, seq: 3));
        var (flow, message) = Assert.Single(Icmp6.Sent);
        Assert.Equal(target, flow.Destination);
        Assert.Equal(Guest, flow.GuestAddress);
        Assert.Equal(Icmpv6Packet.TypeEchoRequest, message[0]);
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Icmpv6FlowCount);

        // The kernel's ping socket rewrote the identifier; the guest gets its own back.
        var reply = Guest6Frames.EchoRequest(0x1111, 3);
        reply[0] = Icmpv6Packet.TypeEchoReply;
        Stack.OnIcmpv6Reply(flow, reply);
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(Icmpv6Packet.TypeEchoReply, icmp.Header.Type);
        Assert.Equal(0x77, icmp.Header.Identifier);
        Assert.Equal(target, ip.Source);
        Assert.Equal(Guest, ip.Destination);

        Time.Advance(TimeSpan.FromMinutes(5));
        Stack.Poll();
        Assert.Equal(0, Stack.Icmpv6FlowCount);
        Assert.Single(Icmp6.Closed);
    }

    [Fact]
    public void An_unroutable_target_is_answered_with_an_unreachable_from_the_router()
    {
        Icmp6.Routable = false;
        Stack.Input(Ping(Parse("2001:db8::9")));
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out var ip, out _);
        Assert.Equal(Icmpv6Packet.TypeDestinationUnreachable, icmp.Header.Type);
        Assert.Equal(Icmpv6Packet.CodeNoRoute, icmp.Header.Code);
        Assert.Equal(RouterLinkLocal, ip.Source);
        Assert.Equal(Guest, ip.Destination);
        Assert.Equal(6, icmp.Header.Data[0] >> 4); // the offending datagram, quoted from its header
    }

    [Fact]
    public void On_link_and_restricted_targets_are_not_forwarded()
    {
        Stack.Input(Ping(Parse("fec0::99")));
        Stack.Input(Ping(Parse("fe80::99")));
        Stack.Input(Ping(Parse("::ffff:10.0.2.2")));
        Assert.Equal(3, Stack.Counters.Drops(FrameDropReason.NotForUs));
        Recreate(Options() with { Restrict = true });
        Stack.Input(Ping(Parse("2001:db8::1")));
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Restricted));
        Stack.Input(Ping(Gateway));
        Assert.Single(Sink.Take()); // the virtual host still answers
        Assert.Empty(Icmp6.Sent);
    }

    [Fact]
    public void A_bad_checksum_is_dropped_and_counted()
    {
        var frame = Ping(Gateway);
        frame[^1] ^= 0xFF;
        Stack.Input(frame);
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.BadChecksum));
    }

    [Fact]
    public void A_fragmented_echo_request_is_reassembled_and_answered()
    {
        var whole = Ping(Gateway, id: 5, seq: 6, dataLength: 1000);
        var pieces = Fragment(whole, 400);
        Assert.Equal(3, pieces.Count);
        Stack.Input(pieces[2]);
        Stack.Input(pieces[0]);
        Assert.Empty(Sink.Take());
        Stack.Input(pieces[1]);
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out _, out _);
        Assert.Equal(Icmpv6Packet.TypeEchoReply, icmp.Header.Type);
        Assert.Equal(1000, icmp.Header.Data.Length);
        Assert.Equal(whole.AsSpan(14 + 40 + 8).ToArray(), icmp.Header.Data.ToArray());
    }

    [Fact]
    public void Fragments_that_never_complete_time_out_and_are_counted()
    {
        var pieces = Fragment(Ping(Gateway, dataLength: 1000), 400);
        Stack.Input(pieces[0]);
        Assert.True(Stack.HasTimers);
        Time.Advance(TimeSpan.FromMinutes(2));
        Stack.Poll();
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.FragmentTimeout));
        Assert.Empty(Sink.Take());
    }

    [Fact]
    public void A_fragment_that_overlaps_others_discards_the_whole_datagram_even_with_the_same_bytes()
    {
        // RFC 8200 4.5 (RFC 5722): reassembly of a datagram with overlapping fragments must be
        // abandoned. The overlap here carries the very same bytes, so the datagram reassembled
        // and was answered; with other bytes a guest chooses which ones the stack sees.
        var whole = Ping(Gateway, id: 5, seq: 6, dataLength: 1000);
        var pieces = Fragment(whole, 400); // [0,400) [400,800) [800,1008)
        var overlap = Fragment(whole, 296)[1]; // [296,592): across the first two
        Stack.Input(pieces[0]);
        Stack.Input(overlap);
        Stack.Input(pieces[1]);
        Stack.Input(pieces[2]);
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Fragment));
    }

    [Fact]
    public void An_exact_duplicate_fragment_is_dropped_alone_and_the_datagram_completes()
    {
        var whole = Ping(Gateway, id: 5, seq: 6, dataLength: 1000);
        var pieces = Fragment(whole, 400);
        Stack.Input(pieces[1]);
        Stack.Input(pieces[1]);
        Stack.Input(pieces[0]);
        Stack.Input(pieces[2]);
        var icmp = ReadIcmp(Assert.Single(Sink.Take()), out _, out _);
        Assert.Equal(Icmpv6Packet.TypeEchoReply, icmp.Header.Type);
        Assert.Equal(whole.AsSpan(14 + 40 + 8).ToArray(), icmp.Header.Data.ToArray());
        Assert.Equal(0, Stack.Counters.TotalDrops);
    }

    [Fact]
    public void A_last_fragment_ending_before_bytes_already_received_discards_the_datagram()
    {
        // [0,400) and [800,1200) arrive, then a "last" piece [400,408): the total of 408 lies below
        // bytes already held. Unmerged IPv6 pieces complete when their bytes add up to the total,
        // so bytes beyond it must never be counted: the contradiction ends the datagram at once.
        var first = Fragment(Ping(Gateway, id: 5, seq: 6, dataLength: 1000), 400)[0];
        var beyond = Fragment(Ping(Gateway, id: 5, seq: 6, dataLength: 2000), 400)[2];
        var shortLast = Fragment(Ping(Gateway, id: 5, seq: 6, dataLength: 400), 400)[1];
        Stack.Input(first);
        Stack.Input(beyond);
        Stack.Input(shortLast);
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Fragment));
    }

    [Fact]
    public void Overlapping_contradicting_fragments_are_dropped_and_counted()
    {
        var pieces = Fragment(Ping(Gateway, dataLength: 1000), 400);
        Stack.Input(pieces[2]); // last: total 1008
        var liar = Fragment(Ping(Gateway, dataLength: 1400), 400);
        Stack.Input(liar[3]); // another last piece with a different end, same identification
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Fragment));
    }
}
