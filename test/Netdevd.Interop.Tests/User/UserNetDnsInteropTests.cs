using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// The DNS proxy follows the host's resolver file (NETDEVD_RESOLV_CONF points netdevd at the
/// test's own): a namespace guest's dig through 10.0.2.3 against dnsmasq instances of the test's
/// own on the host namespace's loopback, switched by editing the file while netdevd runs.
/// </summary>
[Collection("user-netdev")]
public sealed class UserNetDnsInteropTests
{
    private const string Name = "which.netdevd.test";

    [Fact]
    public async Task Dns_follows_the_resolver_file_fails_over_and_answers_servfail_when_none_answers()
    {
        RequireTools();
        var dir = HostTools.TempDir();
        var resolv = Path.Combine(dir, "resolv.conf");
        int portA = HostTools.FreePort(), portB = HostTools.FreePort(), dead1 = HostTools.FreePort(), dead2 = HostTools.FreePort();
        await File.WriteAllTextAsync(resolv, $"nameserver 127.0.0.1#{portA}\n");
        await using var rig = await UserNetRig.StartAsync("", resolv);
        rig.HostServer(Dnsmasq("127.0.0.1", portA, "192.0.2.1", dir, "a"));
        rig.HostServer(Dnsmasq("127.0.0.1", portB, "192.0.2.2", dir, "b"));
        await rig.DhcpAsync();

        Assert.Equal("192.0.2.1", await DigUntilAnsweredAsync(rig, Name));

        await ReplaceAsync(resolv, $"# a VPN came up\nnameserver 127.0.0.1#{portB}\n");
        Assert.Equal("192.0.2.2", await DigUntilAnsweredAsync(rig, Name));

        // A dead first nameserver (nothing listens on its port): the query goes on to the second.
        await ReplaceAsync(resolv, $"nameserver 127.0.0.1#{dead1}\nnameserver 127.0.0.1#{portA}\n");
        var (_, failover) = await rig.GuestAsync($"dig +short +time=15 +tries=1 @10.0.2.3 {Name}", TimeSpan.FromSeconds(30));
        Assert.Equal("192.0.2.1", failover.Trim());

        // No nameserver answers: the guest gets SERVFAIL, not silence.
        await ReplaceAsync(resolv, $"nameserver 127.0.0.1#{dead1}\nnameserver 127.0.0.1#{dead2}\n");
        var (_, none) = await rig.GuestAsync($"dig +time=15 +tries=1 @10.0.2.3 {Name}", TimeSpan.FromSeconds(30));
        Assert.Contains("status: SERVFAIL", none, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_netdevs_own_names_are_answered_without_any_upstream()
    {
        RequireTools();
        var dir = HostTools.TempDir();
        var resolv = Path.Combine(dir, "resolv.conf");
        await File.WriteAllTextAsync(resolv, "# no nameserver at all\n");
        await using var rig = await UserNetRig.StartAsync("dns-host=host.internal,dns-host=db.internal:192.0.2.99", resolv);
        await rig.DhcpAsync();
        Assert.Equal("10.0.2.2", (await rig.GuestAsync("dig +short +time=2 +tries=1 @10.0.2.3 host.internal")).Output.Trim());
        Assert.Equal("fec0::2", (await rig.GuestAsync("dig +short +time=2 +tries=1 @10.0.2.3 AAAA HOST.internal")).Output.Trim());
        Assert.Equal("192.0.2.99", (await rig.GuestAsync("dig +short +time=2 +tries=1 @10.0.2.3 db.internal")).Output.Trim());
        var (_, nodata) = await rig.GuestAsync("dig +time=2 +tries=1 @10.0.2.3 MX db.internal");
        Assert.Contains("status: NOERROR", nodata, StringComparison.Ordinal);
        Assert.Contains("ANSWER: 0", nodata, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_with_only_an_ipv6_nameserver_resolves()
    {
        RequireTools();
        var dir = HostTools.TempDir();
        var resolv = Path.Combine(dir, "resolv.conf");
        var port = HostTools.FreePort();
        await File.WriteAllTextAsync(resolv, $"nameserver ::1#{port}\n");
        await using var rig = await UserNetRig.StartAsync("", resolv);
        rig.HostServer(Dnsmasq("::1", port, "192.0.2.6", dir, "v6"));
        await rig.DhcpAsync();
        Assert.Equal("192.0.2.6", await DigUntilAnsweredAsync(rig, Name));
    }

    [Fact]
    public async Task A_link_local_nameserver_named_with_its_interface_resolves()
    {
        // As NetworkManager and systemd-networkd write a router's RDNSS: fe80::53%IFACE. The
        // address means something only with its interface, so the scope must reach the socket.
        RequireTools();
        var dir = HostTools.TempDir();
        var resolv = Path.Combine(dir, "resolv.conf");
        await using var rig = await UserNetRig.StartAsync("", resolv);
        await rig.HostAsync("ip link add ndll0 type veth peer name ndll1 && ip link set ndll1 up && ip link set ndll0 up && ip addr add fe80::53/64 dev ndll0 nodad");
        rig.HostServer($"dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --interface=ndll0 --except-interface=lo --bind-interfaces " +
            $"--port=53 --address=/{Name}/192.0.2.9 --pid-file={dir}/dnsmasq-ll.pid");
        await File.WriteAllTextAsync(resolv, "nameserver fe80::53%ndll0\n");
        await rig.DhcpAsync();
        Assert.Equal("192.0.2.9", await DigUntilAnsweredAsync(rig, Name));
    }

    [Fact]
    public async Task Dns_over_tcp_to_the_dns_addresses_reaches_the_hosts_nameserver()
    {
        // As libslirp: a guest's TCP to the DNS address on port 53 is connected to the host's
        // nameserver (dig +tcp, and every resolver retrying a truncated answer over TCP, need it).
        RequireTools();
        var dir = HostTools.TempDir();
        var resolv = Path.Combine(dir, "resolv.conf");
        var port = HostTools.FreePort();
        await File.WriteAllTextAsync(resolv, $"nameserver 127.0.0.1#{port}\n");
        await using var rig = await UserNetRig.StartAsync("", resolv);
        rig.HostServer(Dnsmasq("127.0.0.1", port, "192.0.2.5", dir, "tcp"));
        await rig.DhcpAsync();
        await rig.ConfigureStaticIpv6Async();
        Assert.Equal("192.0.2.5", await DigUntilAnsweredAsync(rig, Name, "+tcp @10.0.2.3"));
        Assert.Equal("192.0.2.5", await DigUntilAnsweredAsync(rig, Name, "+tcp @fec0::3"));
    }

    [Fact]
    public async Task Nameservers_the_host_cannot_reach_cost_the_guest_no_wait_over_ipv4_and_ipv6()
    {
        RequireTools();
        var dir = HostTools.TempDir();
        var resolv = Path.Combine(dir, "resolv.conf");
        int live = HostTools.FreePort(), dead = HostTools.FreePort();
        await File.WriteAllTextAsync(resolv, $"nameserver 127.0.0.1#{live}\n");
        await using var rig = await UserNetRig.StartAsync("", resolv);
        rig.HostServer(Dnsmasq("127.0.0.1", live, "192.0.2.8", dir, "live"));
        await rig.DhcpAsync();
        await rig.ConfigureStaticIpv6Async();
        Assert.Equal("192.0.2.8", await DigUntilAnsweredAsync(rig, Name));

        // Two dead nameservers before the live one (three are all a resolv.conf gives, as in the C
        // library): 203.0.113.53 has no route from the host namespace (only loopback; the send is
        // refused at once), and nothing listens on the dead port of ::1 (the kernel's port
        // unreachable comes back at once). Waiting out each one's share of the 4 s (0.67 s each)
        // would leave dig's 1 s with no answer. The next query reads the replaced file.
        await ReplaceAsync(resolv, $"nameserver 203.0.113.53\nnameserver ::1#{dead}\nnameserver 127.0.0.1#{live}\n");
        foreach (var server in new[] { "@10.0.2.3", "@fec0::3" })
        {
            var (_, answer) = await rig.GuestAsync($"dig +short +time=1 +tries=1 {server} {Name}", TimeSpan.FromSeconds(20));
            Assert.Equal("192.0.2.8", answer.Trim());
        }

        // Only dead ones, the port unreachable of 127.0.0.1 among them: SERVFAIL at once, over the
        // family the guest asked in (over IPv6 the SERVFAIL of a query that failed went out as
        // IPv4, and the guest heard nothing).
        await ReplaceAsync(resolv, $"nameserver 127.0.0.1#{dead}\nnameserver ::1#{dead}\nnameserver 203.0.113.53\n");
        foreach (var server in new[] { "@10.0.2.3", "@fec0::3" })
        {
            var (_, none) = await rig.GuestAsync($"dig +time=1 +tries=1 {server} {Name}", TimeSpan.FromSeconds(20));
            Assert.Contains("status: SERVFAIL", none, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Dns_over_tcp_goes_on_to_the_next_nameserver_when_the_first_refuses()
    {
        // A dead first nameserver (nothing listens on its port: the host's connect is refused)
        // would fail every query over TCP, and so every answer too long for UDP; the next one answers.
        RequireTools();
        var dir = HostTools.TempDir();
        var resolv = Path.Combine(dir, "resolv.conf");
        int live = HostTools.FreePort(), dead = HostTools.FreePort();
        await File.WriteAllTextAsync(resolv, $"nameserver 127.0.0.1#{dead}\nnameserver ::1#{dead}\nnameserver 127.0.0.1#{live}\n");
        await using var rig = await UserNetRig.StartAsync("", resolv);
        rig.HostServer(Dnsmasq("127.0.0.1", live, "192.0.2.10", dir, "tcp-next"));
        await rig.DhcpAsync();
        await rig.ConfigureStaticIpv6Async();
        Assert.Equal("192.0.2.10", await DigUntilAnsweredAsync(rig, Name, "+tcp @10.0.2.3"));
        Assert.Equal("192.0.2.10", await DigUntilAnsweredAsync(rig, Name, "+tcp @fec0::3"));
    }

    private static void RequireTools()
    {
        UserNetRig.RequireTools();
        HostTools.Require("dnsmasq", "dnsmasq-base");
        HostTools.Require("dig", "dnsutils");
    }

    private static string Dnsmasq(string address, int port, string answer, string dir, string tag) =>
        $"dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --listen-address={address} --bind-interfaces " +
        $"--port={port} --address=/{Name}/{answer} --pid-file={dir}/dnsmasq-{tag}.pid";

    /// <summary>Writes a new file and renames it over the old one, as NetworkManager and resolvconf do.</summary>
    private static async Task ReplaceAsync(string path, string text)
    {
        var next = path + ".new";
        await File.WriteAllTextAsync(next, text);
        File.Move(next, path, overwrite: true);
    }

    /// <summary>dig's short answer; retried while the test's dnsmasq is still starting.</summary>
    private static async Task<string> DigUntilAnsweredAsync(UserNetRig rig, string name, string server = "@10.0.2.3")
    {
        var answer = "";
        for (var i = 0; i < 30; i++)
        {
            answer = (await rig.GuestAsync($"dig +short +time=5 +tries=1 {server} {name}", TimeSpan.FromSeconds(20))).Output.Trim();
            if (answer.StartsWith("192.", StringComparison.Ordinal))
            {
                return answer;
            }

            await Task.Delay(200);
        }

        return answer;
    }
}
