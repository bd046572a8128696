using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Tests.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Hardening;

/// <summary>
/// RFC 1122 3.2.1.3: an IPv4 datagram whose source is a broadcast or multicast address is invalid
/// and discarded; answering it sends the answer to the whole link.
/// </summary>
public sealed class InvalidSourceAddressTests : NatStackHarness
{
    private static byte[] From(byte[] frame, Ipv4Address source)
    {
        var ip = Ipv4Packet.CreateUnchecked(frame.AsSpan(EthernetFrame.HeaderLength));
        ip.Source = source;
        ip.FillChecksum();
        return frame;
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu)] // limited broadcast
    [InlineData(0x0A00_02FFu)] // 10.0.2.255, the virtual network's broadcast
    [InlineData(0xE000_0001u)] // 224.0.0.1, all hosts
    public void A_ping_of_the_gateway_from_a_broadcast_or_multicast_source_is_dropped_and_counted(uint source)
    {
        Stack.Input(From(GuestFrames.Ping(GuestFrames.Host, id: 1, seq: 1), new Ipv4Address(source)));
        Assert.Empty(Sink.Take());
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void Udp_from_a_broadcast_source_opens_no_flow()
    {
        // UDP over IPv4 may go without a checksum (0): the frame stays valid with another source.
        var frame = GuestFrames.Udp(Ipv4Address.Create(192, 0, 2, 1), 5000, 7, [1, 2, 3]);
        frame[EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength + 6] = 0;
        frame[EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength + 7] = 0;
        Stack.Input(From(frame, Ipv4Address.Broadcast));
        Assert.Empty(NatHost.UdpSent);
        Assert.Equal(0, Stack.UdpFlowCount);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.Malformed));
    }

    [Fact]
    public void A_ping_from_the_guests_own_address_is_still_answered()
    {
        Stack.Input(GuestFrames.Ping(GuestFrames.Host, id: 1, seq: 1));
        Assert.Single(Sink.Take());
        Assert.Equal(0, Stack.Counters.TotalDrops);
    }
}
