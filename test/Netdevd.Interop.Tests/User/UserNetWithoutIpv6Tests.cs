using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// netdevd on a host without IPv6 (a kernel booted with ipv6.disable=1, as some distributions and
/// hardened hosts are; <see cref="WithoutIpv6"/> refuses netdevd's AF_INET6 sockets the same way):
/// the user netdev's IPv6 default stays on, so the guest keeps its dual stack inside the virtual
/// network, IPv4 reaches the host, and what needs IPv6 on the host fails at once and clearly: as
/// an unreachable network (an ICMPv6 no route), for TCP and UDP alike.
/// </summary>
[Collection("user-netdev")]
public sealed class UserNetWithoutIpv6Tests
{
    /// <summary>IPv6 datagrams to 200 ports of the virtual host: each would be a flow with a host socket of its own.</summary>
    private const string Udp6Spray = """
        import socket
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        for port in range(20000, 20200):
            s.sendto(b"x", ("fec0::2", port))
        print("sent")
        """;

    /// <summary>A TCP connect and a connected UDP socket's exchange (with IPV6_RECVERR) with the virtual host over IPv6: the errno each ends with.</summary>
    private const string Unreachable6Probe = """
        import errno, socket, sys
        try:
            socket.create_connection(("fec0::2", int(sys.argv[1])), timeout=5)
            print("tcp connected")
        except OSError as e:
            print("tcp", errno.errorcode.get(e.errno, e))
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        u.setsockopt(socket.IPPROTO_IPV6, 25, 1)  # IPV6_RECVERR: Linux reports a no route only then
        u.settimeout(5)
        u.connect(("fec0::2", 5353))
        u.send(b"x")
        try:
            u.recv(100)
            print("udp answered")
        except OSError as e:
            print("udp", errno.errorcode.get(e.errno, e))
        """;

    [Fact]
    public async Task The_guest_keeps_ipv4_and_its_own_ipv6_and_what_needs_host_ipv6_fails_at_once_and_is_said_once()
    {
        UserNetRig.RequireTools();
        HostTools.Require("curl", "curl");
        HostTools.Require("dig", "dnsutils");
        HostTools.Require("python3", "python3");
        var launcher = await WithoutIpv6.LauncherAsync();
        var dir = HostTools.TempDir();
        await File.WriteAllTextAsync(Path.Combine(dir, "index.html"), "over ipv4\n");
        var resolv = Path.Combine(dir, "resolv.conf");
        await File.WriteAllTextAsync(resolv, "nameserver ::1\n"); // the host's only resolver is one it cannot reach
        var httpPort = HostTools.FreePort();
        await using var rig = await UserNetRig.StartAsync("", resolv, launcher: launcher);
        rig.HostServer($"busybox httpd -f -p 127.0.0.1:{httpPort} -h {dir}");
        await rig.DhcpAsync();
        await rig.ConfigureStaticIpv6Async();

        // IPv4 to the host, and both of the guest's own gateways.
        var (status, page) = await rig.GuestAsync($"curl -sS --retry 5 --retry-connrefused --max-time 20 http://10.0.2.2:{httpPort}/", TimeSpan.FromSeconds(40));
        Assert.True(status == 0 && page.Contains("over ipv4", StringComparison.Ordinal), page);
        Assert.Equal(0, (await rig.GuestAsync("ping -c 1 -W 3 10.0.2.2", TimeSpan.FromSeconds(10))).Status);
        Assert.Equal(0, (await rig.GuestAsync("ping -6 -c 1 -W 3 fec0::2", TimeSpan.FromSeconds(10))).Status);

        // TCP over IPv6 to the host: fails at once, not left to time out.
        var (curl6, refused) = await rig.GuestAsync($"curl -sS --max-time 10 http://[fec0::2]:{httpPort}/", TimeSpan.FromSeconds(20));
        Assert.Equal(7, curl6); // curl: "Couldn't connect to server", well before its 10 s
        Assert.Contains("Couldn't connect", refused, StringComparison.Ordinal);

        // ... and as what it is, an unreachable network (an ICMPv6 no route), for TCP and for UDP
        // (a socket that listens for errors hears it at once; the datagram was dropped unanswered).
        var probe = Path.Combine(rig.Dir, "unreachable6.py");
        await File.WriteAllTextAsync(probe, Unreachable6Probe.Replace("\r", "", StringComparison.Ordinal));
        var (_, errors) = await rig.GuestAsync($"python3 {probe} {httpPort}", TimeSpan.FromSeconds(20));
        Assert.Contains("tcp ENETUNREACH", errors, StringComparison.Ordinal);
        Assert.Contains("udp ENETUNREACH", errors, StringComparison.Ordinal);

        // DNS with only an IPv6 nameserver: SERVFAIL at once, within dig's 1 s.
        var (_, dns) = await rig.GuestAsync("dig +time=1 +tries=1 @10.0.2.3 example.org", TimeSpan.FromSeconds(20));
        Assert.Contains("status: SERVFAIL", dns, StringComparison.Ordinal);

        // A forward of a host IPv6 address is refused with QEMU's text; an IPv4 one is made.
        await using (var qmp = await QmpTestClient.ConnectAsync(rig.QmpPath, TimeSpan.FromSeconds(20)))
        {
            var v6 = await qmp.ExecuteAsync("hostfwd-add", new { netdev = "u0", rule = "tcp:[::1]:0-:22" });
            Assert.Equal("Could not set up host forwarding rule 'tcp:[::1]:0-:22'", (string?)v6["error"]!["desc"]);
            var v4 = await qmp.ExecuteAsync("hostfwd-add", new { netdev = "u0", rule = "tcp:127.0.0.1:0-:22" });
            Assert.NotNull(v4["return"]);
        }

        // A guest spraying IPv6 UDP: every datagram fails for the same reason, said once in the log.
        var script = Path.Combine(rig.Dir, "spray.py");
        await File.WriteAllTextAsync(script, Udp6Spray.Replace("\r", "", StringComparison.Ordinal));
        var spray = await rig.GuestAsync($"python3 {script}", TimeSpan.FromSeconds(20));
        Assert.True(spray.Status == 0, spray.Output);
        Assert.Equal(0, (await rig.GuestAsync("ping -c 1 -W 3 10.0.2.2", TimeSpan.FromSeconds(10))).Status); // after the spray's frames
        var said = rig.NetdevdLog.Where(l => l.Contains("cannot open an IPv6 UDP socket", StringComparison.Ordinal)).ToList();
        Assert.True(said.Count == 1, string.Join('\n', rig.NetdevdLog));
        Assert.Contains("Address family not supported by protocol", said[0], StringComparison.Ordinal);
    }
}
