using Netdevd.Core.Clients;
using Netdevd.Core.Hubs;
using Netdevd.Core.Nic;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Objects;
using Netdevd.Qapi.Schema;

namespace Netdevd.Qmp.Tests;

/// <summary>
/// Hub loops and faulting netdevs as a monitor sees them: the commands QEMU accepts are accepted,
/// the server answers on, frames and netdev_del still work, query-netdevs shows the counters.
/// Before, the loop's netdev_add overflowed the stack and took the whole process with it.
/// </summary>
public sealed class HubLoopCommandTests
{
    private static readonly byte[] Frame = [.. Enumerable.Range(0, 60).Select(i => (byte)i)];

    [Fact]
    public async Task A_hubport_whose_netdev_is_a_port_of_its_own_hub_is_accepted_and_frames_and_netdev_del_still_work()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"a","type":"hubport","hubid":1}}"""));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"b","type":"hubport","hubid":1}}"""));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"p1","type":"hubport","hubid":1}}"""));

        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"p2","type":"hubport","hubid":1,"netdev":"p1"}}"""));

        QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version"}"""));
        var received = new List<byte[]>();
        var na = new NicClient("na", _ => { });
        var nb = new NicClient("nb", f => received.Add(f.ToArray()));
        host.Registry.AttachNic("a", na);
        host.Registry.AttachNic("b", nb);

        na.Transmit(Frame);

        Assert.Equal(Frame, Assert.Single(received));
        var netdevs = await QueryNetdevsAsync(client);
        Assert.Equal("p1", ((QString)netdevs["p2"].Get("peer")!).Value);
        Assert.Equal(1, Stat(netdevs["p1"], "loop-drops"));
        Assert.Equal(1, Stat(netdevs["p2"], "loop-drops"));
        Assert.Equal(1, Stat(netdevs["a"], "rx-frames"));
        Assert.Equal(1, Stat(netdevs["b"], "tx-frames"));
        Assert.Equal(0, Stat(netdevs["b"], "loop-drops"));

        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"p2"}}"""));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"p1"}}"""));
        na.Transmit(Frame);
        Assert.Equal(2, received.Count);
        Assert.Equal(["a", "b"], (await QueryNetdevsAsync(client)).Keys.Order());
    }

    [Fact]
    public async Task A_loop_across_two_hubs_is_accepted_and_frames_still_cross()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using var client = await host.ConnectAsync();
        foreach (var args in new[]
        {
            """{"id":"x","type":"hubport","hubid":1}""",
            """{"id":"y","type":"hubport","hubid":2}""",
            """{"id":"a","type":"hubport","hubid":1}""",
            """{"id":"b","type":"hubport","hubid":2,"netdev":"a"}""",
            """{"id":"c","type":"hubport","hubid":2}""",
            """{"id":"d","type":"hubport","hubid":1,"netdev":"c"}""",
        })
        {
            QmpAssert.EmptyReturn(await client.ExecuteAsync($$"""{"execute":"netdev_add","arguments":{{args}}}"""));
        }

        var received = new List<byte[]>();
        var nx = new NicClient("nx", _ => { });
        host.Registry.AttachNic("x", nx);
        host.Registry.AttachNic("y", new NicClient("ny", f => received.Add(f.ToArray())));

        nx.Transmit(Frame);

        // One copy along each of the two paths from hub 1 to hub 2.
        Assert.Equal([Frame, Frame], received);
        QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-version"}"""));
        // Without the second link, one path is left: one more copy.
        foreach (var id in new[] { "d", "c" })
        {
            QmpAssert.EmptyReturn(await client.ExecuteAsync($$$"""{"execute":"netdev_del","arguments":{"id":"{{{id}}}"}}"""));
        }

        nx.Transmit(Frame);
        Assert.Equal(3, received.Count);
    }

    [Fact]
    public async Task A_netdev_whose_frame_handling_throws_counts_faults_in_query_netdevs_and_keeps_working()
    {
        await using var host = await QmpTestHost.StartAsync(factories: [new HubportNetdevFactory(), new FaultyFactory()]);
        await using var client = await host.ConnectAsync();
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"f","type":"socket"}}"""));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"h","type":"hubport","hubid":0,"netdev":"f"}}"""));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"n","type":"hubport","hubid":0}}"""));
        var nic = new NicClient("nic", _ => { });
        host.Registry.AttachNic("n", nic);

        nic.Transmit([0xEE, .. Frame]);
        nic.Transmit(Frame);

        var netdevs = await QueryNetdevsAsync(client);
        Assert.Equal(1, Stat(netdevs["f"], "faults"));
        Assert.Equal(1, Stat(netdevs["f"], "rx-frames"));
        QmpAssert.EmptyReturn(await client.ExecuteAsync("""{"execute":"netdev_del","arguments":{"id":"f"}}"""));
    }

    private static async Task<Dictionary<string, QDict>> QueryNetdevsAsync(QmpTestClient client)
    {
        var list = Assert.IsType<QList>(QmpAssert.Return(await client.ExecuteAsync("""{"execute":"query-netdevs"}""")));
        var byId = new Dictionary<string, QDict>();
        foreach (var item in list)
        {
            var netdev = Assert.IsType<QDict>(item);
            byId[((QString)netdev.Get("id")!).Value] = netdev;
        }

        return byId;
    }

    private static long Stat(QDict netdev, string name) =>
        ((QNum)Assert.IsType<QDict>(netdev.Get("stats")).Get(name)!).Int64Value;

    /// <summary>Makes netdevs whose receive throws on frames that start with 0xEE, as a parser bug would.</summary>
    private sealed class FaultyFactory : INetdevFactory
    {
        public NetClientDriver Driver => NetClientDriver.Socket;

        public ValueTask<NetClient> CreateAsync(Netdev options, NetdevContext context) => new(new FaultyClient(options.Id));
    }

    private sealed class FaultyClient(string name) : NetClient(name, NetClientDriver.Socket)
    {
        protected override ReceiveResult Receive(ReadOnlySpan<byte> frame) =>
            frame[0] == 0xEE ? throw new InvalidDataException("bad frame") : ReceiveResult.Accepted;
    }
}
