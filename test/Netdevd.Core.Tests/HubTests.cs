using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;

namespace Netdevd.Core.Tests;

public sealed class HubTests
{
    private static (HubPort Port, TestClient Backend) Plug(HubRegistry hubs, int hubId, string name)
    {
        var port = hubs.AddPort(hubId, name);
        var backend = new TestClient(name + "-backend");
        NetClient.Connect(port, backend);
        return (port, backend);
    }

    private static byte[] Frame(int length, byte seed)
    {
        var f = new byte[length];
        for (var i = 0; i < f.Length; i++)
        {
            f[i] = (byte)(seed + i);
        }

        return f;
    }

    [Fact]
    public void Frame_from_one_port_reaches_every_other_port_byte_exact_and_never_the_sender()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 0, "a");
        var b = Plug(hubs, 0, "b");
        var c = Plug(hubs, 0, "c");
        var frame = Frame(1514, 7);

        Assert.Equal(DeliveryResult.Delivered, a.Backend.Inject(frame));

        Assert.Empty(a.Backend.Received);
        Assert.Equal(frame, Assert.Single(b.Backend.Received));
        Assert.Equal(frame, Assert.Single(c.Backend.Received));
    }

    [Fact]
    public void Hubs_are_separate()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 1, "a");
        var other = Plug(hubs, 2, "other");
        var b = Plug(hubs, 1, "b");

        a.Backend.Inject(Frame(60, 1));

        Assert.Single(b.Backend.Received);
        Assert.Empty(other.Backend.Received);
    }

    [Fact]
    public void Hub_has_no_size_limit_a_user_would_hit()
    {
        var hubs = new HubRegistry();
        var ports = new List<(HubPort Port, TestClient Backend)>();
        for (var i = 0; i < 300; i++)
        {
            ports.Add(Plug(hubs, -5, "p" + i));
        }

        ports[17].Backend.Inject(Frame(64, 3));

        for (var i = 0; i < ports.Count; i++)
        {
            Assert.Equal(i == 17 ? 0 : 1, ports[i].Backend.Received.Count);
        }
    }

    [Fact]
    public void A_port_whose_link_is_down_drops_and_the_others_still_get_the_frame()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 0, "a");
        var b = Plug(hubs, 0, "b");
        var c = Plug(hubs, 0, "c");
        b.Port.SetLinkUp(false);

        a.Backend.Inject(Frame(60, 9));

        Assert.Empty(b.Backend.Received);
        Assert.Single(c.Backend.Received);
    }

    [Fact]
    public void A_port_without_peer_drops_silently()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 0, "a");
        _ = hubs.AddPort(0, "lonely");
        var c = Plug(hubs, 0, "c");

        a.Backend.Inject(Frame(60, 9));

        Assert.Single(c.Backend.Received);
    }

    [Fact]
    public void Slow_receiver_queues_then_flush_delivers_in_order_and_wakes_the_source()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 0, "a");
        var b = Plug(hubs, 0, "b");
        b.Backend.Busy = true;

        Assert.Equal(DeliveryResult.Queued, a.Backend.Inject(Frame(60, 1)));
        Assert.Equal(DeliveryResult.Queued, a.Backend.Inject(Frame(60, 2)));
        Assert.Equal(2, b.Backend.Waiting);
        Assert.Empty(b.Backend.Received);

        Assert.True(b.Backend.Drain());

        Assert.Equal([Frame(60, 1), Frame(60, 2)], b.Backend.Received);
        Assert.Equal(1, a.Backend.PeerReadyCalls);
    }

    [Fact]
    public void Full_queue_drops_and_counts()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 0, "a");
        var b = Plug(hubs, 0, "b");
        b.Backend.Busy = true;

        for (var i = 0; i < 8; i++)
        {
            a.Backend.Inject(Frame(60, (byte)i));
        }

        a.Backend.Inject(Frame(60, 99));

        Assert.Equal(8, b.Backend.Waiting);
        Assert.Equal(1, b.Backend.Stats.Dropped);
    }

    [Fact]
    public async Task Deleting_a_port_removes_it_from_its_hub_and_frees_its_peer()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 0, "a");
        var b = Plug(hubs, 0, "b");

        await b.Port.DisposeAsync();
        a.Backend.Inject(Frame(60, 1));

        Assert.Single(hubs.GetOrCreate(0).Ports);
        Assert.Null(b.Backend.Peer);
        Assert.Empty(b.Backend.Received);
    }

    [Fact]
    public void Oversized_frame_is_dropped_and_counted()
    {
        var hubs = new HubRegistry();
        var a = Plug(hubs, 0, "a");
        var b = Plug(hubs, 0, "b");

        a.Backend.Inject(new byte[NetClient.MaxFrameSize + 1]);

        Assert.Empty(b.Backend.Received);
        Assert.Equal(1, a.Port.Stats.Dropped);
    }
}
