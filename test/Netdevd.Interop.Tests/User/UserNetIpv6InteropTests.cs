using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// IPv6 on the user netdev with a real Linux guest (a namespace on a tap): the kernel's router
/// solicitation and SLAAC, rdisc6 (Debian ndisc6) reading the advertisement, ping -6 of the
/// gateway and of an address of the host namespace (through a host ICMPv6 socket), and ISC
/// dhclient's stateless DHCPv6, and its stateful DHCPv6 with ipv6-dhcp-address.
/// </summary>
[Collection("user-netdev")]
public sealed class UserNetIpv6InteropTests
{
    /// <summary>An address of the host namespace's loopback: "the host" as the guest pings it over IPv6.</summary>
    private const string HostAddress6 = "2001:db8:199::1";

    /// <summary>Waits until the kernel has a global SLAAC address (DAD done) and a default route by the advertisement.</summary>
    private static async Task<string> WaitSlaacAsync(UserNetRig rig)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            // fec0::/10 is site-local: the kernel gives the address scope site, not global.
            var addresses = (await rig.GuestAsync($"ip -6 addr show dev {rig.Tap} -tentative")).Output;
            var routes = (await rig.GuestAsync("ip -6 route show default")).Output;
            if (addresses.Contains("inet6 fec0::", StringComparison.Ordinal) && routes.Contains("via fe80::2", StringComparison.Ordinal))
            {
                return addresses + routes;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no SLAAC address or default route:\n{addresses}\n{routes}");

            // The kernel solicits three times, 4 s apart; a fresh link-up solicits again.
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Rdisc6_sees_the_advertisement_and_the_kernel_configures_slaac_and_pings_the_gateway()
    {
        UserNetRig.RequireTools();
        HostTools.Require("rdisc6", "ndisc6");
        await using var rig = await UserNetRig.StartAsync("dnssearch=a.test,dnssearch=b.test");

        var slaac = await WaitSlaacAsync(rig);
        Assert.Contains("dynamic", slaac, StringComparison.Ordinal);
        Assert.Contains("/64", slaac, StringComparison.Ordinal);

        var (status, output) = await rig.GuestAsync($"rdisc6 -1 -r 3 -w 2000 {rig.Tap}", TimeSpan.FromSeconds(30));
        Assert.True(status == 0, output);

        // rdisc6 aligns its columns with runs of spaces: compare with each run made one space.
        var ra = string.Join(' ', output.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Prefix : fec0::/64", ra, StringComparison.Ordinal);
        Assert.Contains("Autonomous address conf.: Yes", ra, StringComparison.Ordinal);
        Assert.Contains("Recursive DNS server : fec0::3", ra, StringComparison.Ordinal);
        Assert.Contains("DNS search list : a.test", ra, StringComparison.Ordinal);
        Assert.Contains("b.test", ra, StringComparison.Ordinal);
        Assert.Contains("MTU : 1500 bytes", ra, StringComparison.Ordinal);
        Assert.Contains("Router lifetime : 1800", ra, StringComparison.Ordinal);
        Assert.Contains("from fe80::2", ra, StringComparison.Ordinal);


        var gateway = await rig.GuestAsync("ping -6 -c 2 -W 2 fec0::2");
        Assert.True(gateway.Status == 0, gateway.Output);
        var linkLocal = await rig.GuestAsync($"ping -6 -c 2 -W 2 fe80::2%{rig.Tap}");
        Assert.True(linkLocal.Status == 0, linkLocal.Output);
        var dns = await rig.GuestAsync("ping -6 -c 1 -W 2 fec0::3");
        Assert.True(dns.Status == 0, dns.Output);

        // The neighbour entry the kernel made for the router is the MAC libslirp gives fe80::2.
        var neighbours = (await rig.GuestAsync($"ip -6 neigh show dev {rig.Tap}")).Output;
        Assert.Contains("fe80::2 lladdr 52:56:00:00:00:02 router", neighbours, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_guest_with_mtu_65520_keeps_its_ipv6_mtu_and_mss_after_the_router_advertisement()
    {
        // An RA announcing 1500 (libslirp's default) to a guest with a 65520-byte link (podman,
        // rootlesskit) pins its IPv6 MSS to 1440 while its IPv4 uses 65480: IPv6 host->guest ran
        // at a quarter of IPv4's rate. The netdev's mtu is what the RA announces.
        UserNetRig.RequireTools();
        await using var rig = await UserNetRig.StartAsync("mtu=65520", mtu: 65520);
        await WaitSlaacAsync(rig);
        Assert.Equal("65520", (await rig.GuestAsync($"sysctl -n net.ipv6.conf.{rig.Tap}.mtu")).Output.Trim());
        var route = (await rig.GuestAsync("ip -6 route get fec0::2")).Output;
        Assert.DoesNotContain("mtu 1500", route, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ping_of_a_host_address_goes_through_a_host_icmpv6_socket()
    {
        UserNetRig.RequireTools();
        await using var rig = await UserNetRig.StartAsync("");
        await Shell.CheckAsync($"ip -n {rig.HostNs} addr add {HostAddress6}/128 dev lo");
        await WaitSlaacAsync(rig);
        var (status, output) = await rig.GuestAsync($"ping -6 -c 3 -W 2 {HostAddress6}", TimeSpan.FromSeconds(30));
        Assert.True(status == 0, output);
        Assert.Contains($"from {HostAddress6}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stateless_dhcpv6_gives_dhclient_the_dns_server_and_search_list()
    {
        UserNetRig.RequireTools();
        var dhclient = HostTools.Require("dhclient", "isc-dhcp-client");
        await using var rig = await UserNetRig.StartAsync("dnssearch=a.test,dnssearch=b.test");
        await WaitSlaacAsync(rig); // dhclient -6 needs a link-local address past DAD

        var report = Path.Combine(rig.Dir, "dhcp6.env");
        var script = Path.Combine(rig.Dir, "dhclient-script");
        await File.WriteAllTextAsync(script, $"""
            #!/bin/sh
            echo "reason=$reason dns=$new_dhcp6_name_servers search=$new_dhcp6_domain_search" >> {report}
            exit 0
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var pidFile = Path.Combine(rig.Dir, "dhclient.pid");
        try
        {
            var (status, output) = await rig.GuestAsync(
                $"{dhclient} -6 -S -1 -v -pf {pidFile} -lf {rig.Dir}/dhclient6.leases -sf {script} {rig.Tap}", TimeSpan.FromSeconds(60));
            Assert.True(status == 0, output);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!File.Exists(report) || !(await File.ReadAllTextAsync(report)).Contains("dns=", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"dhclient reported nothing:\n{output}");
                await Task.Delay(100);
            }

            var line = await File.ReadAllTextAsync(report);
            // dhclient 4.4 reports an Information-request's Reply as RENEW6 (INFORM6 in older ones).
            Assert.Contains("dns=fec0::3 search=a.test. b.test.", line, StringComparison.Ordinal);
        }
        finally
        {
            // dhclient stays behind to refresh; stop the one this test started, by its pid file.
            if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), out var pid))
            {
                await Shell.RunAsync($"kill {pid}");
            }
        }
    }

    [Fact]
    public async Task Stateful_dhcpv6_puts_the_configured_address_on_dhclients_interface()
    {
        UserNetRig.RequireTools();
        HostTools.Require("dhclient", "isc-dhcp-client");
        HostTools.Require("rdisc6", "ndisc6");
        await using var rig = await UserNetRig.StartAsync("ipv6-dhcp-address=fec0::15");
        await WaitSlaacAsync(rig); // dhclient -6 needs a link-local address past DAD

        // The advertisement tells the guest to ask DHCPv6 for an address (M), the prefix stays autonomous.
        var (status, output) = await rig.GuestAsync($"rdisc6 -1 -r 3 -w 2000 {rig.Tap}", TimeSpan.FromSeconds(30));
        Assert.True(status == 0, output);
        var ra = string.Join(' ', output.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Stateful address conf. : Yes", ra, StringComparison.Ordinal);
        Assert.Contains("Autonomous address conf.: Yes", ra, StringComparison.Ordinal);

        await using var dhclient = await Dhclient6.BindAsync(rig);
        Assert.Contains("reason=BOUND6 address=fec0::15/128 preferred=4294967295 valid=4294967295 dns=fec0::3", dhclient.Report, StringComparison.Ordinal);
        var addresses = (await rig.GuestAsync($"ip -6 addr show dev {rig.Tap}")).Output;
        Assert.Contains("inet6 fec0::15/128 ", addresses, StringComparison.Ordinal);

        // Past the kernel's duplicate address detection (the stack stays silent for the guest's own address), it is used.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await rig.GuestAsync($"ip -6 addr show dev {rig.Tap} -tentative")).Output.Contains("inet6 fec0::15/128 ", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "fec0::15 stays tentative");
            await Task.Delay(100);
        }

        var ping = await rig.GuestAsync("ping -6 -c 1 -W 2 -I fec0::15 fec0::2");
        Assert.True(ping.Status == 0, ping.Output);

        // query-usernet lists the binding after the IPv4 leases (none here): dhclient's MAC, the address, infinity.
        await using var qmp = await QmpTestClient.ConnectAsync(rig.QmpPath, TimeSpan.FromSeconds(20));
        var info = (await qmp.ExecuteAsync("query-usernet", new { netdev = "u0" }))["return"]![0]!;
        var binding = Assert.Single((System.Text.Json.Nodes.JsonArray)info["leases"]!)!;
        var mac = (await rig.GuestAsync($"cat /sys/class/net/{rig.Tap}/address")).Output.Trim();
        Assert.Equal((mac, "fec0::15", 4294967295L), ((string?)binding["macaddr"], (string?)binding["ip"], (long)binding["expires-in"]!));
    }
}
