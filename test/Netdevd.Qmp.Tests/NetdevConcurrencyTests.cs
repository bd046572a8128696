using System.Collections.Concurrent;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qmp.Tests;

/// <summary>Clients adding and deleting netdevs while others look them up, list them and set their links.</summary>
public sealed class NetdevConcurrencyTests
{
    [Fact]
    public async Task Lookups_race_netdev_add_and_del_with_consistent_answers()
    {
        await using var host = await QmpTestHost.StartAsync();
        await using (var setup = await host.ConnectAsync())
        {
            QmpAssert.EmptyReturn(await setup.ExecuteAsync("""{"execute":"netdev_add","arguments":{"id":"first","type":"hubport","hubid":0}}"""));
        }

        var failures = new ConcurrentQueue<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        var clients = new List<Task>();
        for (var w = 0; w < 3; w++)
        {
            var writer = w;
            clients.Add(Task.Run(async () =>
            {
                await using var c = await host.ConnectAsync();
                for (var i = 0; DateTime.UtcNow < deadline; i++)
                {
                    var id = $"w{writer}n{i % 4}";
                    Expect(failures, await c.ExecuteAsync("{\"execute\":\"netdev_add\",\"arguments\":{\"id\":\"" + id + "\",\"type\":\"hubport\",\"hubid\":" + (writer + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) + "}}"), null);
                    Expect(failures, await c.ExecuteAsync("{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"" + id + "\"}}"), null);
                }
            }));
        }

        for (var q = 0; q < 2; q++)
        {
            clients.Add(Task.Run(async () =>
            {
                await using var c = await host.ConnectAsync();
                while (DateTime.UtcNow < deadline)
                {
                    Expect(failures, await c.ExecuteAsync("""{"execute":"query-rx-filter","arguments":{"name":"first"}}"""), "net client(first) isn't a NIC");
                    var list = Assert.IsType<QList>(QmpAssert.Return(await c.ExecuteAsync("""{"execute":"query-netdevs"}""")));
                    var first = Assert.IsType<QDict>(list[0]);
                    if (Assert.IsType<QString>(first.Get("id")).Value != "first")
                    {
                        failures.Enqueue("query-netdevs lists in creation order");
                    }
                }
            }));
        }

        clients.Add(Task.Run(async () =>
        {
            await using var c = await host.ConnectAsync();
            for (var up = false; DateTime.UtcNow < deadline; up = !up)
            {
                Expect(failures, await c.ExecuteAsync(up ? """{"execute":"set_link","arguments":{"name":"first","up":true}}""" : """{"execute":"set_link","arguments":{"name":"first","up":false}}"""), null);
            }
        }));

        await Task.WhenAll(clients);
        Assert.True(failures.IsEmpty, string.Join(Environment.NewLine, failures.Distinct().Take(10)));
    }

    /// <summary>Records a response that is not the expected success (null) or error text.</summary>
    private static void Expect(ConcurrentQueue<string> failures, QDict response, string? error)
    {
        var actual = response.Get("error") is QDict e ? (e.Get("desc") as QString)?.Value : null;
        if (actual != error)
        {
            failures.Enqueue($"expected {error ?? "success"}, got {response}");
        }
    }
}
