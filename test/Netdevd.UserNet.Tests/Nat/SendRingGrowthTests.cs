using Netdevd.UserNet.Interface;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Nat;

/// <summary>
/// A bulk flow from the host grows its send ring (512 KiB to 2 MiB, doubling) when the ring, not
/// the guest's window, holds it back, within the netdev's memory budget.
/// </summary>
public sealed class SendRingGrowthTests : NatStackHarness
{
    private const int Kib = 1024;

    /// <summary>An established flow; the guest's window is 65535 &lt;&lt; <paramref name="scale"/>.</summary>
    private TcpConnection Establish(byte scale)
    {
        var options = new TcpOptions { MaximumSegmentSize = 60000, WindowScale = scale };
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 100, 0, TcpFlags.Syn, options: options));
        var connection = NatHost.Opened[^1].Connection;
        Stack.OnTcpConnected(connection, true);
        Stack.Input(GuestFrames.Tcp(GuestFrames.Host, 40000, 8080, 101, ParseTcp(Sink.Take()[^1]).SequenceNumber + 1, TcpFlags.Ack));
        Assert.Equal(TcpState.Established, connection.State);
        return connection;
    }

    /// <summary>The host socket fills all the free space of the send ring, as one readv would.</summary>
    private void HostFills(TcpConnection connection)
    {
        connection.HostReadBuffers(out var first, out var second);
        Stack.OnTcpReceived(connection, first.Count + second.Count);
    }

    [Fact]
    public void A_flow_the_ring_holds_back_grows_it_by_doubling_to_2_mib_and_gives_it_all_back_when_it_ends()
    {
        var connection = Establish(scale: 7); // an 8 MiB window: the ring is the limit
        var used = Stack.Budget.Used;
        Assert.Equal(512 * Kib, connection.SendCapacity);

        HostFills(connection);
        Assert.Equal(1024 * Kib, connection.SendCapacity);
        HostFills(connection);
        Assert.Equal(2048 * Kib, connection.SendCapacity);
        HostFills(connection);
        Assert.Equal(2048 * Kib, connection.SendCapacity); // the ceiling
        Assert.Equal(used + (1536 * Kib), Stack.Budget.Used);

        // Everything the host gave went to the guest, each byte once.
        var sent = Sink.Take().Sum(f => ParseTcp(f).Payload.Length);
        Assert.Equal(2048 * Kib, sent);

        Stack.OnTcpHostError(connection);
        Assert.Equal(0, Stack.Budget.Used);
    }

    [Fact]
    public void A_flow_the_guest_window_holds_back_keeps_its_ring()
    {
        var connection = Establish(scale: 3); // 65535 << 3: just under 512 KiB

        HostFills(connection);
        HostFills(connection);

        Assert.Equal(512 * Kib, connection.SendCapacity);
    }

    [Fact]
    public void Without_room_in_the_budget_the_ring_stays_and_nothing_is_refused()
    {
        // 2 MiB: the first flow's 1 MiB of rings fill the half that full-size flows may use.
        Recreate(new UserStackOptions { Limits = new NatLimits { MemoryLimit = 2 * 1024 * Kib } });
        var connection = Establish(scale: 7);

        HostFills(connection);

        Assert.Equal(512 * Kib, connection.SendCapacity);
        Assert.Equal(0, Stack.Budget.Refusals);
        Assert.Equal(0, Stack.Counters.Drops(FrameDropReason.MemoryLimit));
    }
}
