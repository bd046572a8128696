using System.Text.Json.Nodes;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>query-usernet with a real guest: its DHCP lease, an open TCP connection with both ends, and the stack's counters.</summary>
[Collection("user-netdev")]
public sealed class UserNetQueryInteropTests
{
    [Fact]
    public async Task Query_usernet_shows_the_lease_and_an_open_connection_with_its_ends_state_and_queue()
    {
        var port = HostTools.FreePort();
        await using var rig = await UserNetRig.StartAsync("");
        await rig.DhcpAsync();
        // The host server accepts and keeps the connection open (its input never ends); the guest sends 4 KB and keeps the connection open.
        rig.HostServer($"sh -c 'sleep 600 | busybox nc -l -p {port} > /dev/null'");
        await rig.WaitListeningAsync(port);
        rig.GuestServer($"sh -c '(head -c 4096 /dev/zero; sleep 600) | busybox nc 10.0.2.2 {port}'");

        await using var qmp = await QmpTestClient.ConnectAsync(rig.QmpPath, TimeSpan.FromSeconds(20));
        JsonObject? flow = null;
        JsonArray leases = [];
        var last = "";
        for (var i = 0; i < 100 && flow is null; i++)
        {
            var reply = await qmp.ExecuteAsync("query-usernet", new { netdev = "u0" });
            last = reply.ToJsonString();
            var info = (JsonObject)reply["return"]![0]!;
            Assert.Equal("u0", (string?)info["netdev"]);
            leases = (JsonArray)info["leases"]!;
            foreach (var f in (JsonArray)info["flows"]!)
            {
                if ((string?)f!["protocol"] == "tcp" && (int)f["foreign-port"]! == port && (string?)f["state"] == "ESTABLISHED")
                {
                    flow = (JsonObject)f;
                }
            }

            if (flow is null)
            {
                await Task.Delay(100);
            }
        }

        Assert.True(flow is not null, last + "\nguest: " + (await rig.GuestAsync("ss -tan")).Output + "\nhost: " + (await rig.HostAsync("ss -tanp")).Output);
        Assert.Equal("outbound", (string?)flow["direction"]);
        Assert.Equal("10.0.2.15", (string?)flow["guest-addr"]);
        Assert.Equal("10.0.2.2", (string?)flow["foreign-addr"]);
        Assert.Equal("127.0.0.1", (string?)flow["host-addr"]);
        Assert.InRange((int)flow["host-port"]!, 1, 65535);
        Assert.True((long)flow["idle-ms"]! >= 0);
        Assert.True((long)flow["queued-to-host"]! >= 0);

        var lease = (JsonObject)Assert.Single(leases)!;
        Assert.Equal("10.0.2.15", (string?)lease["ip"]);
        Assert.InRange((long)lease["expires-in"]!, 86000, 86400);
        var mac = (await rig.GuestAsync($"cat /sys/class/net/{rig.Tap}/address")).Output.Trim();
        Assert.Equal(mac, (string?)lease["macaddr"]);

        var all = await qmp.ExecuteAsync("query-usernet");
        Assert.Single((JsonArray)all["return"]!);
        var missing = await qmp.ExecuteAsync("query-usernet", new { netdev = "nope" });
        Assert.Equal("Device 'nope' not found", (string?)missing["error"]!["desc"]);
        var notUser = await qmp.ExecuteAsync("query-usernet", new { netdev = "t0" });
        Assert.Equal("Netdev 't0' is not a user network", (string?)notUser["error"]!["desc"]);
    }

    [Fact]
    public async Task Query_usernet_counts_what_the_guest_was_refused_and_told()
    {
        HostTools.Require("dig", "dnsutils");
        await using var rig = await UserNetRig.StartAsync("");
        await rig.DhcpAsync();

        // A ping with TTL 1 to the outside ends at the virtual router (a time exceeded, counted as a
        // drop); a query to a port nothing serves on the host is refused (a relayed port unreachable).
        var (_, ping) = await rig.GuestAsync("ping -c 1 -W 2 -t 1 203.0.113.7", TimeSpan.FromSeconds(20));
        Assert.Contains("From 10.0.2.2 icmp_seq=1 Time to live exceeded", ping, StringComparison.Ordinal);
        var (_, dig) = await rig.GuestAsync($"dig +tries=1 +time=5 @10.0.2.2 -p {HostTools.FreePort()} example.org", TimeSpan.FromSeconds(20));
        Assert.Contains("connection refused", dig, StringComparison.Ordinal);

        await using var qmp = await QmpTestClient.ConnectAsync(rig.QmpPath, TimeSpan.FromSeconds(20));
        var reply = await qmp.ExecuteAsync("query-usernet", new { netdev = "u0" });
        var counters = (JsonObject)reply["return"]![0]!["counters"]!;
        Assert.True((long)counters["frames-in"]! > 0 && (long)counters["frames-out"]! > 0, counters.ToJsonString());
        Assert.True((long)counters["udp-flows-opened"]! >= 1, counters.ToJsonString());
        Assert.True((long)counters["icmp-errors-sent"]! >= 2, counters.ToJsonString());
        Assert.True((long)counters["icmp-errors-relayed"]! >= 1, counters.ToJsonString());
        var drops = ((JsonArray)counters["drops"]!).ToDictionary(d => (string)d!["reason"]!, d => (long)d!["count"]!);
        Assert.Equal(1, drops["time-exceeded"]);
        Assert.All(drops.Values, count => Assert.True(count > 0));
    }
}
