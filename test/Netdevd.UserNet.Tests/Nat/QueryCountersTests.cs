using Netdevd.UserNet.Interface;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// query-usernet's counters: every refused frame is under its reason (named in kebab case, only
/// the reasons that occurred), errors sent to the guest counted with the relayed ones apart.
/// </summary>
public sealed class QueryCountersTests : NatStackHarness
{
    [Fact]
    public void Refused_frames_are_listed_by_reason_and_errors_sent_are_counted()
    {
        var counters = Stack.QueryCounters();
        Assert.Empty(counters.Drops);
        Assert.Equal(0, counters.FramesIn);

        var truncated = GuestFrames.Udp(Ipv4Address.Create(203, 0, 113, 1), 5000, 9, [1, 2, 3])[..30]; // the IPv4 header cut short
        Stack.Input(truncated);
        var badChecksum = GuestFrames.Udp(Ipv4Address.Create(203, 0, 113, 1), 5000, 9, [1, 2, 3]);
        badChecksum[^1] ^= 0xFF;
        Stack.Input(badChecksum);
        var ttl1 = GuestFrames.Udp(Ipv4Address.Create(203, 0, 113, 1), 5000, 9, [1, 2, 3]);
        Assert.True(Ipv4Packet.TryCreate(ttl1.AsSpan(EthernetFrame.HeaderLength), out var ip));
        ip.TimeToLive = 1;
        ip.FillChecksum();
        Stack.Input(ttl1);
        Stack.Input(GuestFrames.Udp(Ipv4Address.Create(203, 0, 113, 1), 5000, 10, [4]));

        counters = Stack.QueryCounters();
        Assert.Equal(4, counters.FramesIn);
        Assert.Equal(1, counters.UdpFlowsOpened);
        Assert.Equal(1, counters.IcmpErrorsSent); // the time exceeded
        Assert.Equal(0, counters.IcmpErrorsRelayed);
        Assert.Equal(
            [("malformed", 1L), ("bad-checksum", 1L), ("time-exceeded", 1L)],
            counters.Drops.Select(d => (d.Reason, d.Count)));
        Assert.Equal(Stack.Counters.Drops(FrameDropReason.TimeExceeded), counters.Drops[2].Count);
    }

    [Fact]
    public void Every_reason_has_a_name_of_its_own()
    {
        // Each reason once, through the counters query's naming.
        foreach (var reason in Enum.GetValues<FrameDropReason>())
        {
            Stack.Counters.Drop(reason);
        }

        var names = Stack.QueryCounters().Drops.Select(d => d.Reason).ToList();
        Assert.Equal(Enum.GetValues<FrameDropReason>().Length, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+(-[a-z]+)*$", n));
        Assert.Contains("not-for-us", names);
        Assert.Contains("invalid-ndp", names);
    }
}
