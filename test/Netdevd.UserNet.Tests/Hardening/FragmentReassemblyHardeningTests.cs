using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Hardening;

/// <summary>
/// Reassembly under a hostile guest (issue [05] items 2 and 4): no piece order or header length
/// can make the reassembled datagram exceed 65535 bytes, and a flood of incomplete datagrams
/// cannot keep a legitimate fragmented datagram out.
/// </summary>
public sealed class FragmentReassemblyHardeningTests : NatStackHarness
{
    /// <summary>
    /// A 60-byte first header (IHL 15) and IHL-5 pieces up to payload byte 65515: each piece alone
    /// fits 65535 bytes, the whole would be 65575. Every frame is at most 1514 bytes.
    /// </summary>
    private static List<byte[]> OversizedByFirstHeader(ushort id)
    {
        var frames = new List<byte[]> { RawFragments.Frame(GuestFrames.Host, IpProtocol.Udp, id, 0, more: true, new byte[1440], optionsLength: 40) };
        var offset = 1440;
        while (offset + 1480 < 65515)
        {
            frames.Add(RawFragments.Frame(GuestFrames.Host, IpProtocol.Udp, id, offset, more: true, new byte[1480]));
            offset += 1480;
        }

        frames.Add(RawFragments.Frame(GuestFrames.Host, IpProtocol.Udp, id, offset, more: false, new byte[65515 - offset]));
        Assert.All(frames, f => Assert.True(f.Length <= 1514));
        return frames;
    }

    [Fact]
    public void A_first_fragment_with_a_60_byte_header_cannot_overflow_the_reassembled_datagram()
    {
        var frames = OversizedByFirstHeader(id: 900);
        foreach (var frame in frames)
        {
            Stack.Input(frame);
        }

        Assert.Empty(NatHost.UdpSent);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Fragment));
        Assert.False(Stack.HasTimers); // nothing of it is held
    }

    [Fact]
    public void The_same_oversized_datagram_in_reverse_order_is_dropped_too()
    {
        var frames = OversizedByFirstHeader(id: 901);
        frames.Reverse();
        foreach (var frame in frames)
        {
            Stack.Input(frame);
        }

        Assert.Empty(NatHost.UdpSent);
        Assert.True(Stack.Counters.Drops(FrameDropReason.Fragment) >= 1);
        Assert.False(Stack.HasTimers);
    }

    [Fact]
    public void A_datagram_of_exactly_65535_bytes_with_a_60_byte_header_is_still_reassembled()
    {
        // Ping of the virtual host: 60-byte header + 65475 bytes of ICMP = 65535.
        var icmp = new byte[65475];
        var echo = IcmpHeader.CreateUnchecked(icmp);
        echo.Type = IcmpPacket.TypeEchoRequest;
        echo.Identifier = 5;
        echo.SequenceNumber = 1;
        for (var i = IcmpPacket.HeaderLength; i < icmp.Length; i++)
        {
            icmp[i] = (byte)i;
        }

        IcmpPacket.CreateUnchecked(icmp).FillChecksum();
        var offset = 0;
        var first = true;
        while (offset < icmp.Length)
        {
            var length = Math.Min(first ? 1440 : 1480, icmp.Length - offset);
            Stack.Input(RawFragments.Frame(GuestFrames.Host, IpProtocol.Icmp, 902, offset, offset + length < icmp.Length,
                icmp.AsSpan(offset, length), optionsLength: first ? 40 : 0));
            offset += length;
            first = false;
        }

        Assert.Equal(0, Stack.Counters.TotalDrops);
        var replies = Sink.Take();
        Assert.True(replies.Count > 40); // the echo reply, fragmented for the 1500-byte link
    }

    [Fact]
    public void A_fragmented_ping_of_the_gateway_is_answered_right_after_a_flood_of_incomplete_fragments()
    {
        // The flood: first pieces of many datagrams that never complete.
        for (ushort id = 0; id < 200; id++)
        {
            Stack.Input(RawFragments.Frame(GuestFrames.Host, IpProtocol.Udp, id, 0, more: true, new byte[1480]));
        }

        // Without advancing the clock: a 3000-byte ping in three pieces.
        foreach (var piece in GuestFrames.Fragment(GuestFrames.Ping(GuestFrames.Host, id: 77, seq: 1, dataLength: 3000), 1480, identification: 5000))
        {
            Stack.Input(piece);
        }

        var replies = Sink.Take();
        Assert.Equal(3, replies.Count); // the 3028-byte echo reply in three fragments
        Assert.True(Stack.Counters.Drops(FrameDropReason.FragmentLimit) >= 200 - new NatLimits().MaxFragmentedDatagrams);
    }
}
