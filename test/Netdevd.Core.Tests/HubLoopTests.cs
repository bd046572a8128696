using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Schema;

namespace Netdevd.Core.Tests;

/// <summary>
/// Hubports whose netdev= leads back into a hub (QEMU accepts such loops): negotiation, flooding,
/// batch ends and wake-ups terminate, frames still reach every real end, loop drops are counted.
/// On the old code each of these overflowed the stack, which kills the whole process.
/// </summary>
public sealed class HubLoopTests
{
    private static byte[] Frame(byte seed) => [.. Enumerable.Range(seed, 60).Select(i => (byte)i)];

    internal static TestClient Plug(HubRegistry hubs, int hubId, string name)
    {
        var backend = new TestClient(name);
        NetClient.Connect(hubs.AddPort(hubId, "p" + name), backend);
        return backend;
    }

    /// <summary>Two new ports, of <paramref name="hubA"/> and <paramref name="hubB"/>, made each other's peer.</summary>
    internal static (HubPort A, HubPort B) Link(HubRegistry hubs, int hubA, string a, int hubB, string b)
    {
        var pa = hubs.AddPort(hubA, a);
        var pb = hubs.AddPort(hubB, b);
        NetClient.Connect(pb, pa);
        return (pa, pb);
    }

    private static Netdev Hubport(string id, int hubid, string? netdev = null) => new()
    {
        Id = id,
        Type = NetClientDriver.Hubport,
        Hubport = new NetdevHubPortOptions { Hubid = hubid, Netdev = netdev },
    };

    [Fact]
    public async Task A_hubport_whose_netdev_is_a_port_of_its_own_hub_is_accepted_as_QEMU_does()
    {
        await using var registry = new NetdevRegistry([new HubportNetdevFactory()], new RecordingEventSink(), NullLoggerFactory.Instance);
        await registry.AddAsync(Hubport("p1", 1), NetdevOrigin.Monitor);

        var p2 = await registry.AddAsync(Hubport("p2", 1, netdev: "p1"), NetdevOrigin.Monitor);

        Assert.Equal("p1", p2.Peer?.Name);
        await registry.DeleteAsync("p2");
        await registry.DeleteAsync("p1");
        Assert.Empty(registry.Snapshot());
    }

    [Fact]
    public void A_frame_crosses_a_hub_with_a_loop_once_and_the_loop_drops_are_counted()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 1, "a");
        var b = Plug(hubs, 1, "b");
        var (p1, p2) = Link(hubs, 1, "p1", 1, "p2");

        Assert.Equal(DeliveryResult.Delivered, a.Inject(Frame(1)));

        Assert.Equal(Frame(1), Assert.Single(b.Received));
        Assert.Empty(a.Received);

        // The frame left by p1 and by p2 and came back in by the other: both copies were dropped.
        Assert.Equal(1, p1.Stats.LoopDrops);
        Assert.Equal(1, p2.Stats.LoopDrops);
        Assert.Equal(2, hubs.GetOrCreate(1).LoopDrops);

        b.Inject(Frame(2));
        Assert.Equal(Frame(2), Assert.Single(a.Received));
    }

    [Fact]
    public void A_frame_crosses_a_loop_of_two_hubs_along_each_path_once()
    {
        // hub1.a <-> hub2.b and hub2.c <-> hub1.d
        var hubs = new HubRegistry();
        var x = Plug(hubs, 1, "x");
        var y = Plug(hubs, 2, "y");
        _ = Link(hubs, 1, "a", 2, "b");
        _ = Link(hubs, 2, "c", 1, "d");

        x.Inject(Frame(3));

        // Two paths lead from hub 1 to hub 2 (a-b and d-c): y gets one copy by each, as a
        // switch loop would duplicate; neither copy comes back to x, and nothing circles.
        Assert.Equal([Frame(3), Frame(3)], y.Received);
        Assert.Empty(x.Received);
        Assert.Equal(2, hubs.GetOrCreate(1).LoopDrops + hubs.GetOrCreate(2).LoopDrops);

        y.Inject(Frame(4));
        Assert.Equal([Frame(4), Frame(4)], x.Received);
    }

    [Fact]
    public void Virtio_net_headers_are_negotiated_across_a_loop_by_the_real_ends_only()
    {
        var hubs = new HubRegistry();
        var a = new HeaderClient("a", true);
        var b = new HeaderClient("b", true);
        NetClient.Connect(hubs.AddPort(1, "pa"), a);
        _ = Link(hubs, 1, "p1", 1, "p2");
        NetClient.Connect(hubs.AddPort(1, "pb"), b);

        // The loop's ports lead back into the same hub: they add no end of their own.
        Assert.True(a.UsingVnetHeader);
        Assert.True(b.UsingVnetHeader);

        var c = new HeaderClient("c", false);
        NetClient.Connect(hubs.AddPort(1, "pc"), c);
        Assert.False(a.UsingVnetHeader);
        Assert.False(b.UsingVnetHeader);

        c.Disconnect();
        Assert.True(a.UsingVnetHeader);
    }

    [Fact]
    public void Virtio_net_headers_follow_an_end_on_another_hub_of_a_two_hub_loop()
    {
        var hubs = new HubRegistry();
        var a = new HeaderClient("a", true);
        NetClient.Connect(hubs.AddPort(1, "pa"), a);
        _ = Link(hubs, 1, "l1", 2, "l2");
        _ = Link(hubs, 2, "m2", 1, "m1");
        Assert.True(a.UsingVnetHeader);

        // An end without headers on hub 2 turns them off at hub 1's end too.
        var c = new HeaderClient("c", false);
        NetClient.Connect(hubs.AddPort(2, "pc"), c);
        Assert.False(a.UsingVnetHeader);
        c.Disconnect();
        Assert.True(a.UsingVnetHeader);
    }

    [Fact]
    public void A_batch_end_crosses_a_loop_once()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 1, "a");
        var b = Plug(hubs, 1, "b");
        _ = Link(hubs, 1, "p1", 1, "p2");

        a.InjectBatch(Frame(1), Frame(2));

        Assert.Equal([Frame(1), Frame(2)], b.Received);
        Assert.Equal(1, b.BatchEnds);
        Assert.Equal(0, a.BatchEnds);
    }

    [Fact]
    public void A_drained_queue_wakes_the_senders_across_a_loop_once()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 1, "a");
        var b = Plug(hubs, 1, "b");
        _ = Link(hubs, 1, "p1", 1, "p2");
        b.Busy = true;

        Assert.Equal(DeliveryResult.Queued, a.Inject(Frame(1)));
        Assert.True(b.Drain());

        Assert.Equal(Frame(1), Assert.Single(b.Received));
        Assert.Equal(1, a.PeerReadyCalls);
    }

    [Fact]
    public void A_chain_of_hubs_up_to_the_nesting_limit_delivers_and_a_longer_one_drops_and_counts()
    {
        var hubs = new HubRegistry();
        var first = Plug(hubs, 0, "first");
        for (var i = 0; i < Hub.MaxNesting - 1; i++)
        {
            _ = Link(hubs, i, $"r{i}", i + 1, $"l{i + 1}");
        }

        var last = Plug(hubs, Hub.MaxNesting - 1, "last");
        first.Inject(Frame(5));
        Assert.Equal(Frame(5), Assert.Single(last.Received));

        // One hub more than a thread may nest: the frame stops there instead of deepening the stack.
        var end = Hub.MaxNesting - 1;
        var (_, entry) = Link(hubs, end, "r-last", end + 1, "l-beyond");
        var beyond = Plug(hubs, end + 1, "beyond");
        first.Inject(Frame(6));

        Assert.Empty(beyond.Received);
        Assert.Equal(1, entry.Stats.LoopDrops);
        Assert.Equal(2, last.Received.Count);
    }

    private sealed class HeaderClient(string name, bool headers) : NetClient(name, NetClientDriver.Tap)
    {
        public override bool HasVnetHeader => headers;

        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) => ReceiveResult.Accepted;
    }
}
