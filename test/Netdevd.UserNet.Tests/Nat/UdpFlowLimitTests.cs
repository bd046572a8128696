using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// The UDP flow limit shared by the guest's own flows and the UDP host forwards' clients: the
/// forwards hold at most their share, a new flow past a limit closes the one idle longest on its
/// own side (counted), and host clients never push out the guest's flows.
/// </summary>
public sealed class UdpFlowLimitTests : NatStackHarness
{
    private static readonly Ipv4Address Outside = Ipv4Address.Create(192, 0, 2, 7);

    public UdpFlowLimitTests()
        : base(new UserStackOptions { Limits = new NatLimits { MaxUdpFlows = 8 } })
    {
    }

    [Fact]
    public void Forward_clients_past_their_share_close_the_one_idle_longest_and_leave_the_guests_flows()
    {
        var closed = new List<UdpForwardFlow>();
        Stack.SetUdpForwardClosed(closed.Add);
        Stack.Input(GuestFrames.Udp(Outside, 5000, 7777, [1]));

        // Ten clients, one datagram each, a second apart: the share is 4 of 8.
        var flows = new List<UdpForwardFlow>();
        for (ushort i = 0; i < 10; i++)
        {
            var flow = Stack.OpenUdpForward(GuestFrames.Guest, 53, Outside, (ushort)(40000 + i), new object());
            Assert.NotNull(flow);
            Stack.OnUdpForwardDatagram(flow, [1]);
            flows.Add(flow);
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(4, Stack.UdpForwardFlowCount);
        Assert.Equal(flows[..6], closed);
        Assert.All(closed, f => Assert.True(f.Closed));
        Assert.Equal(6, Stack.Counters.Drops(FrameDropReason.UdpFlowEvicted));
        Assert.Equal(1, Stack.UdpFlowCount);
        Assert.Empty(NatHost.UdpClosed);

        // A client that spoke lately keeps its place: the quiet one goes.
        Stack.OnUdpForwardDatagram(flows[6], [2]);
        Time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(Stack.OpenUdpForward(GuestFrames.Guest, 53, Outside, 41000, new object()));
        Assert.Same(flows[7], closed[^1]);
        Assert.False(flows[6].Closed);
    }

    [Fact]
    public void A_new_guest_flow_at_the_limit_closes_the_guests_flow_idle_longest_not_a_forwards()
    {
        var closed = new List<UdpForwardFlow>();
        Stack.SetUdpForwardClosed(closed.Add);
        for (ushort i = 0; i < 4; i++)
        {
            Assert.NotNull(Stack.OpenUdpForward(GuestFrames.Guest, 53, Outside, (ushort)(40000 + i), new object()));
        }

        Time.Advance(TimeSpan.FromSeconds(1));
        for (ushort port = 5000; port < 5004; port++)
        {
            Stack.Input(GuestFrames.Udp(Outside, port, 7777, [1]));
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        // All 8 taken; 5000 spoke again, so 5001 is idle longest (the forwards idled longer still).
        Stack.Input(GuestFrames.Udp(Outside, 5000, 7777, [2]));
        Stack.Input(GuestFrames.Udp(Outside, 6000, 7777, [1]));
        Assert.Equal(4, Stack.UdpFlowCount);
        Assert.Equal((ushort)5001, Assert.Single(NatHost.UdpClosed).GuestPort);
        Assert.Equal(4, Stack.UdpForwardFlowCount);
        Assert.Empty(closed);
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.UdpFlowEvicted));
        Assert.Equal(0, Stack.Counters.Drops(FrameDropReason.UdpFlowLimit));
    }

    [Fact]
    public void A_forward_client_while_the_guests_flows_hold_the_rest_takes_a_forwards_place_or_none()
    {
        // The guest may use the forwards' unused share; a new forward client then closes a
        // forward flow, and with none to close it is refused: never one of the guest's.
        for (ushort port = 5000; port < 5008; port++)
        {
            Stack.Input(GuestFrames.Udp(Outside, port, 7777, [1]));
        }

        Assert.Null(Stack.OpenUdpForward(GuestFrames.Guest, 53, Outside, 40000, new object()));
        Assert.Equal(1, Stack.Counters.Drops(FrameDropReason.UdpFlowLimit));
        Assert.Equal(8, Stack.UdpFlowCount);
        Assert.Empty(NatHost.UdpClosed);
    }
}
