using System.Runtime.CompilerServices;
using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;

namespace Netdevd.Core.Tests;

/// <summary>
/// The list of objects a frame path touches, read when a thread wakes from a sleep: every kind of
/// object can be read, a walk along peers and hubs (loops of hubs included) records each object
/// once and ends, and the list lets go of what it held once cleared.
/// </summary>
public sealed class HotObjectsTests
{
    [Fact]
    public void Every_kind_of_object_is_read_without_a_fault()
    {
        var hot = new HotObjects();
        var gate = new Lock();
        object?[] items = [new object(), Array.Empty<byte>(), new byte[70_000], "", "text", 42, new int[1], new string[3], null];
        foreach (var item in items)
        {
            hot.Add(item);
        }

        hot.Add(gate);

        // null is not recorded; the rest are, the lock as itself.
        Assert.Equal(items.Length, hot.Count);
        Assert.True(hot.Contains(Unsafe.As<Lock, object>(ref gate)));
        hot.Touch();
    }

    [Fact]
    public void AddOnce_records_an_object_once_and_says_so()
    {
        var hot = new HotObjects();
        var item = new object();

        Assert.True(hot.AddOnce(item));
        Assert.False(hot.AddOnce(item));
        Assert.False(hot.AddOnce(null));
        Assert.True(hot.AddOnce(new object()));
        Assert.Equal(2, hot.Count);
    }

    [Fact]
    public void A_full_list_takes_no_more_and_a_walk_stops()
    {
        var hot = new HotObjects();
        for (var i = 0; i < HotObjects.Capacity + 10; i++)
        {
            hot.Add(new object());
        }

        Assert.Equal(HotObjects.Capacity, hot.Count);
        Assert.False(hot.AddOnce(new object()));
        hot.Touch();
    }

    [Fact]
    public void Cleared_the_list_no_longer_keeps_its_objects_alive()
    {
        var hot = new HotObjects();
        var held = Record(hot);
        hot.Clear();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(held.IsAlive);
        Assert.Equal(0, hot.Count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Record(HotObjects hot)
    {
        var item = new byte[1024];
        hot.Add(item);
        return new WeakReference(item);
    }

    [Fact]
    public void A_client_on_a_hub_records_its_own_objects_the_hub_and_every_other_port_s_peer()
    {
        var hubs = new HubRegistry();
        var a = HubLoopTests.Plug(hubs, 1, "a");
        var b = HubLoopTests.Plug(hubs, 1, "b");
        var c = HubLoopTests.Plug(hubs, 1, "c");
        var hot = new HotObjects();

        Assert.True(a.CollectHot(hot));
        a.Peer!.CollectHot(hot);

        Assert.True(hot.Contains(a));
        Assert.True(hot.Contains(a.Stats));
        Assert.True(hot.Contains(a.Peer));
        Assert.True(hot.Contains(hubs.GetOrCreate(1)));
        Assert.True(hot.Contains(b));
        Assert.True(hot.Contains(c));

        // Asked again, the client says it is recorded already: the walk that came back stops.
        Assert.False(a.CollectHot(hot));
        hot.Touch();
    }

    [Fact]
    public void A_walk_through_a_loop_of_two_hubs_records_each_once_and_ends()
    {
        // hub1.a <-> hub2.b and hub2.c <-> hub1.d, a backend on each hub.
        var hubs = new HubRegistry();
        var x = HubLoopTests.Plug(hubs, 1, "x");
        var y = HubLoopTests.Plug(hubs, 2, "y");
        HubLoopTests.Link(hubs, 1, "a", 2, "b");
        HubLoopTests.Link(hubs, 2, "c", 1, "d");
        var hot = new HotObjects();

        x.CollectHot(hot);
        x.Peer!.CollectHot(hot);

        Assert.True(hot.Contains(hubs.GetOrCreate(1)));
        Assert.True(hot.Contains(hubs.GetOrCreate(2)));
        Assert.True(hot.Contains(y));
        var recorded = hot.Count;

        // Nothing left to add from anywhere in the loop.
        y.Peer!.CollectHot(hot);
        Assert.Equal(recorded, hot.Count);
    }
}
