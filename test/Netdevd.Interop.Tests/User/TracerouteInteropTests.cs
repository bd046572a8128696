using System.Globalization;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// A guest's traceroute through netdevd, with busybox's traceroute and traceroute6 (UDP, ICMP),
/// Debian's traceroute (TCP SYN probes, -T, and connect() probes, -M tcpconn), iputils tracepath
/// and mtr (TCP, ICMPv6): the test's client namespace is a first router beyond the host, a
/// namespace of this test's own a second one that owns the destination. Each hop answers in turn, as on a real network: the virtual router itself
/// (its TTL 1 time exceeded), the router beyond (its time exceeded, relayed; for a TCP probe the
/// error that failed the host's connect), the destination (its port unreachable, echo reply or
/// reset). slirp4netns's guests see no hop at all; before netdevd took the hop for TCP, a TCP
/// probe of any TTL reached the destination, which showed as the first hop. A ping's reply shows
/// the TTL of the routed path too.
/// </summary>
[Collection("user-netdev")]
public sealed class TracerouteInteropTests
{
    private const string Destination4 = "198.51.100.7";
    private const string Destination6 = "2001:db8:99::7";

    [Theory]
    [InlineData("busybox traceroute", Destination4, "10.0.2.2", UserNetRig.ClientLinkClient)]
    [InlineData("busybox traceroute -I", Destination4, "10.0.2.2", UserNetRig.ClientLinkClient)]
    [InlineData("busybox traceroute6", Destination6, "fe80::2", UserNetRig.ClientLinkClient6)]
    [InlineData("traceroute.db -T", Destination4, "10.0.2.2", UserNetRig.ClientLinkClient)]
    [InlineData("traceroute.db -T", Destination6, "fe80::2", UserNetRig.ClientLinkClient6)]
    [InlineData("traceroute.db -M tcpconn", Destination4, "10.0.2.2", UserNetRig.ClientLinkClient)]
    [InlineData("tracepath", Destination4, "10.0.2.2", UserNetRig.ClientLinkClient)]
    [InlineData("tracepath", Destination6, "fe80::2", UserNetRig.ClientLinkClient6)]
    [InlineData("mtr -T -P 80", Destination4, "10.0.2.2", UserNetRig.ClientLinkClient)]
    [InlineData("mtr", Destination6, "fe80::2", UserNetRig.ClientLinkClient6)]
    public async Task Every_hop_answers_the_router_the_router_beyond_and_the_destination(string traceroute, string destination, string router, string beyond)
    {
        UserNetRig.RequireTools();
        if (traceroute.StartsWith("traceroute.db", StringComparison.Ordinal))
        {
            HostTools.Require("traceroute.db", "traceroute");
        }
        else if (traceroute == "tracepath")
        {
            HostTools.Require("tracepath", "iputils-tracepath");
        }
        else if (traceroute.StartsWith("mtr", StringComparison.Ordinal))
        {
            HostTools.Require("mtr", "mtr-tiny");
        }

        await using var rig = await UserNetRig.StartAsync("");
        var far = await AddFarRouterAsync(rig);
        try
        {
            // tracepath (iputils) probes by UDP with IP_RECVERR and has no wait or query options;
            // mtr reports one round of probes (ICMP by default, -T TCP SYNs).
            var options = traceroute == "tracepath" ? "-n -m 5" : traceroute.StartsWith("mtr", StringComparison.Ordinal) ? "-n -r -c 1 -m 5" : "-n -w 3 -q 1 -m 5";
            var (_, output) = await rig.GuestAsync($"{traceroute} {options} {destination}", TimeSpan.FromSeconds(60));
            Assert.Equal([router, beyond, destination], Hops(output));
            if (traceroute == "tracepath")
            {
                // tracepath counts the hops back by the errors' TTL: each relayed one left the
                // virtual router with one less than it reached the host with, as a router passes it on.
                Assert.DoesNotContain("asymm", output, StringComparison.Ordinal);
                Assert.Contains("hops 3 back 3", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            await Shell.RunAsync($"ip netns del {far}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_ping_beyond_the_host_shows_the_ttl_of_the_routed_path(bool pingSockets)
    {
        UserNetRig.RequireTools();
        await using var rig = await UserNetRig.StartAsync("");
        var far = await AddFarRouterAsync(rig);
        try
        {
            if (pingSockets)
            {
                // netdevd runs as root here and so pings through a raw socket, unless the host's
                // namespace lets it open unprivileged ping sockets, as an ordinary user's does.
                await Shell.CheckAsync($"ip netns exec {rig.HostNs} sysctl -qw net.ipv4.ping_group_range=\"0 2147483647\"");
            }

            // The destination answers with 64, the router before it passes on 63, and the virtual
            // router one less again, as on a routed path (libslirp's guests see 255 for every host).
            Assert.Contains("ttl=62", (await rig.GuestAsync($"ping -n -c 1 -W 3 {Destination4}")).Output, StringComparison.Ordinal);
            Assert.Contains("ttl=62", (await rig.GuestAsync($"ping -6 -n -c 1 -W 3 {Destination6}")).Output, StringComparison.Ordinal);
            Assert.Contains("ttl=63", (await rig.GuestAsync($"ping -n -c 1 -W 3 {UserNetRig.ClientLinkClient}")).Output, StringComparison.Ordinal);
            Assert.Contains("ttl=64", (await rig.GuestAsync("ping -n -c 1 -W 3 10.0.2.2")).Output, StringComparison.Ordinal);

            // The echo flows' sockets are still open: the kind the test meant to use is the one used.
            var (_, sockets) = await rig.HostAsync(pingSockets ? "cat /proc/net/icmp" : "cat /proc/net/raw");
            Assert.True(sockets.Trim().Split('\n').Length > 1, $"no {(pingSockets ? "ping" : "raw")} socket of netdevd's:\n{sockets}");
        }
        finally
        {
            await Shell.RunAsync($"ip netns del {far}");
        }
    }

    /// <summary>
    /// The guest's DHCP and static IPv6 address, the rig's client namespace as a first router
    /// beyond the host, and a namespace (returned; the caller deletes it) as a second router that
    /// owns <see cref="Destination4"/> and <see cref="Destination6"/>.
    /// </summary>
    private static async Task<string> AddFarRouterAsync(UserNetRig rig)
    {
        await rig.DhcpAsync();
        await rig.ConfigureStaticIpv6Async();
        await rig.AddClientNamespaceAsync();
        var far = $"ndu-far-{Random.Shared.Next(0x10000):x4}";
        try
        {
            var veth = far[^4..];
            await Shell.CheckAsync(
                $"ip netns add {far} && ip -n {far} link set lo up && " +
                $"ip -n {rig.ClientNs} link add ndfa{veth} type veth peer name ndfb{veth} netns {far} && " +
                $"ip -n {rig.ClientNs} addr add 10.197.0.1/24 dev ndfa{veth} && ip -n {rig.ClientNs} addr add fd00:197::1/64 dev ndfa{veth} nodad && " +
                $"ip -n {far} addr add 10.197.0.2/24 dev ndfb{veth} && ip -n {far} addr add fd00:197::2/64 dev ndfb{veth} nodad && " +
                $"ip -n {rig.ClientNs} link set ndfa{veth} up && ip -n {far} link set ndfb{veth} up && " +
                $"ip -n {far} addr add {Destination4}/32 dev lo && ip -n {far} addr add {Destination6}/128 dev lo && " +
                $"ip -n {far} route add default via 10.197.0.1 && ip -n {far} -6 route add default via fd00:197::1 && " +
                $"ip netns exec {rig.ClientNs} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && " +
                $"ip -n {rig.ClientNs} route add {Destination4}/32 via 10.197.0.2 && ip -n {rig.ClientNs} -6 route add {Destination6}/128 via fd00:197::2 && " +
                $"ip -n {rig.HostNs} route add {Destination4}/32 via {UserNetRig.ClientLinkClient} && " +
                $"ip -n {rig.HostNs} -6 route add {Destination6}/128 via {UserNetRig.ClientLinkClient6}");
        }
        catch
        {
            await Shell.RunAsync($"ip netns del {far}");
            throw;
        }

        return far;
    }

    /// <summary>
    /// The address of each hop line (" 1  10.0.2.2  0.081 ms"; tracepath's " 1:  10.0.2.2  0.096ms",
    /// once per probe; mtr's "  1.|-- 10.0.2.2  0.0% ..."), its interface suffix (%eth0) cut; "*"
    /// (mtr: "???") when none answered.
    /// </summary>
    private static List<string> Hops(string output)
    {
        var hops = new List<string>();
        var last = -1;
        foreach (var line in output.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var first = fields.Length >= 2 ? fields[0] : "";
            var digits = first.Length - first.TrimStart("0123456789".ToCharArray()).Length;
            if (digits > 0 && first[digits..] is "" or ":" or ".|--" &&
                int.TryParse(first[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var hop) && hop != last)
            {
                hops.Add(fields[1].Split('%')[0]);
                last = hop;
            }
        }

        return hops;
    }
}
