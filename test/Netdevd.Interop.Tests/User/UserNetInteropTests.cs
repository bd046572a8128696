using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// The user netdev with a real Linux guest (a namespace on a tap): DHCP, ping, DNS, TCP, UDP,
/// TFTP and forwards with the Debian tools (busybox, dnsmasq, dig, curl, tftp-hpa, iperf3).
/// </summary>
[Collection("user-netdev")]
public sealed class UserNetInteropTests
{
    private static int FreePort() => HostTools.FreePort();

    /// <param name="vnetHeader">The tap with vnet_hdr=on: the user netdev's TCP leaves its checksum to the kernel.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Dhcp_ping_dns_and_a_50_MB_download_with_its_checksum(bool vnetHeader)
    {
        UserNetRig.RequireTools();
        HostTools.Require("dnsmasq", "dnsmasq-base");
        HostTools.Require("dig", "dnsutils");
        HostTools.Require("curl", "curl");
        var dir = HostTools.TempDir();
        try
        {
            var dnsPort = FreePort();
            var resolv = Path.Combine(dir, "resolv.conf");
            await File.WriteAllTextAsync(resolv, $"nameserver 127.0.0.1#{dnsPort}\n");
            await using var rig = await UserNetRig.StartAsync("domainname=example.test,dnssearch=a.test,dnssearch=b.test", resolv, vnetHeader: vnetHeader);
            rig.HostServer($"dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --listen-address=127.0.0.1 --bind-interfaces --port={dnsPort} --address=/files.netdevd.test/192.0.2.77 --pid-file={dir}/dnsmasq.pid");

            var lease = await rig.DhcpAsync();
            Assert.Contains("event=bound ip=10.0.2.15 router=10.0.2.2 dns=10.0.2.3 domain=example.test search=a.test b.test", lease, StringComparison.Ordinal);

            Assert.Equal(0, (await rig.GuestAsync("ping -c 2 -W 2 10.0.2.2")).Status);
            var outside = await rig.GuestAsync($"ping -c 2 -W 2 {UserNetRig.HostAddress}");
            Assert.True(outside.Status == 0, outside.Output); // through a host ICMP socket (raw as root)

            string answer = "";
            for (var i = 0; i < 20 && answer.Length == 0; i++)
            {
                answer = (await rig.GuestAsync("dig +short +time=1 +tries=1 @10.0.2.3 files.netdevd.test")).Output.Trim();
                if (answer.Length == 0 || !answer.StartsWith("192", StringComparison.Ordinal))
                {
                    answer = "";
                    await Task.Delay(200); // dnsmasq still starting
                }
            }

            Assert.Equal("192.0.2.77", answer);

            var file = Path.Combine(dir, "big.bin");
            var data = RandomNumberGenerator.GetBytes(50_000_000);
            await File.WriteAllBytesAsync(file, data);
            var expected = Convert.ToHexStringLower(SHA256.HashData(data));
            var httpPort = FreePort();
            rig.HostServer($"busybox httpd -f -p 127.0.0.1:{httpPort} -h {dir}");
            await Task.Delay(300);
            var (status, output) = await rig.GuestAsync($"curl -sS --retry 5 --retry-connrefused --max-time 60 http://10.0.2.2:{httpPort}/big.bin | sha256sum", TimeSpan.FromSeconds(90));
            Assert.True(status == 0, output);
            Assert.StartsWith(expected, output.Trim(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_dns_answer_longer_than_the_mtu_reaches_the_guest_in_fragments()
    {
        UserNetRig.RequireTools();
        HostTools.Require("dnsmasq", "dnsmasq-base");
        HostTools.Require("dig", "dnsutils");
        var dir = HostTools.TempDir();
        try
        {
            var dnsPort = FreePort();
            var resolv = Path.Combine(dir, "resolv.conf");
            await File.WriteAllTextAsync(resolv, $"nameserver 127.0.0.1#{dnsPort}\n");
            await using var rig = await UserNetRig.StartAsync("", resolv);

            // Twenty 250-byte strings: a TXT answer of about 5 KB, which the upstream sends in one
            // datagram (EDNS) and netdevd must cut for the guest's 1500-byte link.
            var strings = Enumerable.Range(0, 20).Select(i => new string((char)('a' + i), 250)).ToArray();
            rig.HostServer($"dnsmasq --no-daemon --keep-in-foreground --no-resolv --no-hosts --listen-address=127.0.0.1 --bind-interfaces --port={dnsPort} --edns-packet-max=8192 --txt-record=big.netdevd.test,{string.Join(',', strings)} --pid-file={dir}/dnsmasq.pid");
            await rig.DhcpAsync();

            var before = await RxPacketsAsync(rig);
            var answer = "";
            for (var i = 0; i < 20 && answer.Length == 0; i++)
            {
                answer = (await rig.GuestAsync("dig +short +bufsize=8192 +ignore +time=2 +tries=1 @10.0.2.3 TXT big.netdevd.test")).Output.Trim();
                if (!answer.Contains(strings[0], StringComparison.Ordinal))
                {
                    answer = "";
                    await Task.Delay(200); // dnsmasq still starting
                }
            }

            var after = await RxPacketsAsync(rig);
            foreach (var text in strings)
            {
                Assert.Contains($"\"{text}\"", answer, StringComparison.Ordinal);
            }

            // The kernel took the answer in four frames (three of 1500 bytes and the rest) and
            // reassembled it; one 5 KB frame would have been a single packet (plus an ARP or two).
            Assert.True(after - before >= 4, $"guest link received {after - before} packets");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>Packets the guest's interface has received (the kernel's own counter).</summary>
    private static async Task<long> RxPacketsAsync(UserNetRig rig)
    {
        var (status, output) = await rig.GuestAsync($"cat /sys/class/net/{rig.Tap}/statistics/rx_packets");
        Assert.Equal(0, status);
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_second_client_gets_the_next_address_and_the_first_keeps_its_own()
    {
        await using var rig = await UserNetRig.StartAsync("");
        var first = (await rig.GuestAsync($"cat /sys/class/net/{rig.Tap}/address")).Output.Trim();
        Assert.Contains("ip=10.0.2.15 ", await rig.DhcpAsync(), StringComparison.Ordinal);

        // Another MAC is another client (the server keys leases by chaddr, as libslirp does);
        // udhcpc -q leaves without releasing, so the first lease stays taken.
        await SetMacAsync(rig, "02:00:5e:00:53:02");
        Assert.Contains("ip=10.0.2.16 ", await rig.DhcpAsync(), StringComparison.Ordinal);

        await SetMacAsync(rig, first);
        Assert.Contains("ip=10.0.2.15 ", await rig.DhcpAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_forwards_reach_a_listener_in_the_guest_and_change_at_run_time()
    {
        var port = FreePort();
        await using var rig = await UserNetRig.StartAsync($"hostfwd=tcp:127.0.0.1:{port}-:22");
        await rig.DhcpAsync();
        rig.GuestServer("busybox nc -l -p 22 -e echo hello-from-guest");
        await Task.Delay(300);
        var (status, output) = await rig.HostAsync($"busybox nc 127.0.0.1 {port} </dev/null", TimeSpan.FromSeconds(20));
        Assert.True(status == 0 && output.Contains("hello-from-guest", StringComparison.Ordinal), output);

        await using var qmp = await QmpTestClient.ConnectAsync(rig.QmpPath, TimeSpan.FromSeconds(20));
        var list = await qmp.ExecuteAsync("query-hostfwd", new { netdev = "u0" });
        Assert.Contains($"\"host-port\":{port}", list.ToJsonString(), StringComparison.Ordinal);

        var added = await qmp.ExecuteAsync("hostfwd-add", new { netdev = "u0", rule = "tcp:127.0.0.1:0-:2323" });
        var newPort = (int)added["return"]!["host-port"]!;
        Assert.NotEqual(0, newPort);
        rig.GuestServer("busybox nc -l -p 2323 -e echo second");
        await Task.Delay(300);
        Assert.Contains("second", (await rig.HostAsync($"busybox nc 127.0.0.1 {newPort} </dev/null", TimeSpan.FromSeconds(20))).Output, StringComparison.Ordinal);

        var clash = await qmp.ExecuteAsync("hostfwd-add", new { netdev = "u0", rule = $"tcp:127.0.0.1:{port}-:22" });
        Assert.Equal($"Could not set up host forwarding rule 'tcp:127.0.0.1:{port}-:22'", (string?)clash["error"]!["desc"]);
        var bad = await qmp.ExecuteAsync("hostfwd-add", new { netdev = "u0", rule = "bogus" });
        Assert.Equal("Invalid host forwarding rule 'bogus' (No : separators)", (string?)bad["error"]!["desc"]);

        Assert.NotNull((await qmp.ExecuteAsync("hostfwd-remove", new { netdev = "u0", rule = $"tcp:127.0.0.1:{newPort}" }))["return"]);
        Assert.NotEqual(0, (await rig.HostAsync($"busybox nc 127.0.0.1 {newPort} </dev/null", TimeSpan.FromSeconds(10))).Status);
        var after = await qmp.ExecuteAsync("query-hostfwd", new { netdev = "u0" });
        Assert.DoesNotContain($"\"host-port\":{newPort}", after.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tftp_serves_files_with_blksize_and_tsize_and_refuses_escapes()
    {
        HostTools.Require("tftp", "tftp-hpa");
        var root = HostTools.TempDir();
        var outside = HostTools.TempDir();
        try
        {
            var data = RandomNumberGenerator.GetBytes(3_000_000);
            await File.WriteAllBytesAsync(Path.Combine(root, "boot.bin"), data);
            await File.WriteAllTextAsync(Path.Combine(outside, "secret"), "secret");
            File.CreateSymbolicLink(Path.Combine(root, "link"), Path.Combine(outside, "secret"));
            await using var rig = await UserNetRig.StartAsync($"tftp={root}");
            await rig.DhcpAsync();
            var expected = Convert.ToHexStringLower(SHA256.HashData(data));

            // busybox tftp asks for blksize and tsize; tftp-hpa is the plain RFC 1350 client.
            var got = Path.Combine(rig.Dir, "got.bin");
            var (status, output) = await rig.GuestAsync($"busybox tftp -g -b 1468 -r boot.bin -l {got} 10.0.2.2 && sha256sum {got}", TimeSpan.FromSeconds(60));
            Assert.True(status == 0, output);
            Assert.Contains(expected, output, StringComparison.Ordinal);

            var plain = Path.Combine(rig.Dir, "plain.bin");
            (status, output) = await rig.GuestAsync($"cd {rig.Dir} && tftp -m binary 10.0.2.2 -c get boot.bin plain.bin && sha256sum {plain}", TimeSpan.FromSeconds(60));
            Assert.Contains(expected, output, StringComparison.Ordinal);

            foreach (var escape in new[] { "../etc/passwd", "/etc/passwd", "link" })
            {
                (status, output) = await rig.GuestAsync($"busybox tftp -g -r {escape} -l {rig.Dir}/escape 10.0.2.2", TimeSpan.FromSeconds(20));
                Assert.True(status != 0, $"{escape}: {output}");
            }
        }
        finally
        {
            Directory.Delete(root, true);
            Directory.Delete(outside, true);
        }
    }

    [Fact]
    public async Task Restrict_blocks_everything_but_the_guest_forwards()
    {
        HostTools.Require("curl", "curl");
        var httpPort = FreePort();
        var fwdPort = FreePort();
        var dir = HostTools.TempDir();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "index.html"), "through-guestfwd");

            // The forward's device is connected when the netdev is created (QEMU's chardev): its server comes first.
            await using var rig = await UserNetRig.StartAsync(
                $"restrict=on,guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:{fwdPort},guestfwd=tcp:10.0.2.101:7-cmd:busybox cat",
                beforeNetdevd: async r =>
                {
                    r.HostServer($"busybox httpd -f -p 127.0.0.1:{fwdPort} -h {dir}");
                    await r.WaitListeningAsync(fwdPort);
                });
            await rig.DhcpAsync();
            rig.HostServer($"busybox httpd -f -p 127.0.0.1:{httpPort} -h {dir}");
            await rig.WaitListeningAsync(httpPort);

            Assert.NotEqual(0, (await rig.GuestAsync($"curl -sS --max-time 3 http://10.0.2.2:{httpPort}/")).Status);
            Assert.NotEqual(0, (await rig.GuestAsync($"ping -c 1 -W 1 {UserNetRig.HostAddress}")).Status);
            Assert.Equal(0, (await rig.GuestAsync("ping -c 1 -W 2 10.0.2.2")).Status);

            var (status, output) = await rig.GuestAsync("curl -sS --max-time 10 http://10.0.2.100/");
            Assert.True(status == 0 && output.Contains("through-guestfwd", StringComparison.Ordinal), output);
            (status, output) = await rig.GuestAsync("echo ping-through-cmd | busybox nc -w 3 10.0.2.101 7", TimeSpan.FromSeconds(20));
            Assert.Contains("ping-through-cmd", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_guestfwd_device_is_one_connection_opened_at_start_and_shared_by_the_guests_connections()
    {
        HostTools.Require("busybox", "busybox-static");
        var port = FreePort();
        Socket? listener = null;
        await using var rig = await UserNetRig.StartAsync(
            $"guestfwd=tcp:10.0.2.100:7000-tcp:127.0.0.1:{port}",
            beforeNetdevd: r =>
            {
                listener = NamespaceListener.Listen(r.HostNs, new IPEndPoint(IPAddress.Loopback, port));
                return Task.CompletedTask;
            });
        using var listening = listener!;

        // netdevd connected while it created the netdev, before any guest connection.
        listening.Blocking = false;
        Assert.True(listening.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectRead), "the device was not connected at start");
        using var device = listening.Accept();
        device.Blocking = true;
        device.ReceiveTimeout = 20_000;

        // Bytes the device sends while no guest is connected wait for the first guest connection.
        device.Send("waiting-for-a-guest\n"u8);
        await rig.DhcpAsync();
        // The device never closes, so neither do the guest's connections (as with QEMU): each
        // client is given three seconds, then ended.
        var (_, output) = await rig.GuestAsync("echo from-guest-1 | timeout 3 busybox nc 10.0.2.100 7000", TimeSpan.FromSeconds(30));
        Assert.Contains("waiting-for-a-guest", output, StringComparison.Ordinal);
        Assert.Equal("from-guest-1\n", ReceiveText(device, "from-guest-1\n".Length));

        // A second guest connection reuses the same device connection (no new connect), and the
        // device's answer goes to it, the newest.
        var second = rig.GuestAsync("echo from-guest-2 | timeout 3 busybox nc 10.0.2.100 7000", TimeSpan.FromSeconds(30));
        Assert.Equal("from-guest-2\n", ReceiveText(device, "from-guest-2\n".Length));
        device.Send("answer-2\n"u8);
        (_, output) = await second;
        Assert.Contains("answer-2", output, StringComparison.Ordinal);
        Assert.False(listening.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead), "a second device connection was made");
    }

    private static string ReceiveText(Socket socket, int length)
    {
        var buffer = new byte[length];
        for (var got = 0; got < length;)
        {
            var n = socket.Receive(buffer.AsSpan(got));
            Assert.True(n > 0, "the device connection ended");
            got += n;
        }

        return System.Text.Encoding.ASCII.GetString(buffer);
    }

    /// <param name="vnetHeader">The tap with vnet_hdr=on: partial checksums and the guest's TSO frames on the link.</param>
    /// <param name="mtu">The guest link's MTU (65520 as podman and rootlesskit set it).</param>
    [Theory]
    [InlineData(false, 1500)]
    [InlineData(true, 1500)]
    [InlineData(true, 65520)]
    public async Task Iperf3_tcp_both_ways_and_udp_complete(bool vnetHeader, int mtu)
    {
        HostTools.Require("iperf3", "iperf3");
        var port = FreePort();
        await using var rig = await UserNetRig.StartAsync(mtu == 1500 ? "" : $"mtu={mtu}", mtu: mtu, vnetHeader: vnetHeader);
        await rig.DhcpAsync();
        rig.HostServer($"iperf3 -s -B 127.0.0.1 -p {port}");
        await Task.Delay(500);
        foreach (var args in new[] { "-t 2", "-t 2 -R", "-t 2 -u -b 50M -l 1400", "-t 2 -u -b 50M -l 1400 -R" })
        {
            var (status, output) = await rig.GuestAsync($"iperf3 -c 10.0.2.2 -p {port} {args}", TimeSpan.FromSeconds(30));
            for (var retry = 0; retry < 5 && output.Contains("the server is busy", StringComparison.Ordinal); retry++)
            {
                // iperf3's server takes one test at a time and may still be closing the last one
                // when the next client arrives at once (seen in a loaded full run): its own answer
                // to that is "try again later".
                await Task.Delay(1000);
                (status, output) = await rig.GuestAsync($"iperf3 -c 10.0.2.2 -p {port} {args}", TimeSpan.FromSeconds(30));
            }

            Assert.True(status == 0 && output.Contains("receiver", StringComparison.Ordinal), $"iperf3 {args}:\n{output}");
        }
    }

    private static async Task SetMacAsync(UserNetRig rig, string mac)
    {
        var (status, output) = await rig.GuestAsync($"ip link set {rig.Tap} down && ip link set {rig.Tap} address {mac} && ip link set {rig.Tap} up");
        Assert.True(status == 0, output);
    }
}
