using System.Diagnostics;
using Netdevd.Backends.VhostUser.Frontend;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// netdevd's vhost-user front-end against passt's vhost-user back-end (a current passt: Debian's
/// 2023 build has no --vhost-user; tools/passt-vhost-user.sh builds passt 2025-01 from
/// ../shared/peers with upstream's later fix for its vhost-user TCP sequence, or NETDEVD_PASST
/// names one), hubbed to a tap in a namespace: TCP both ways to servers on the host's loopback
/// through passt's NAT, and a download whose bytes are compared. passt sends TCP with
/// DATA_VALID and an empty checksum, which a tap without headers only takes once the front-end
/// has filled the checksum.
/// </summary>
public sealed class PasstBackendTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Tcp_crosses_passts_vhost_user_back_end_both_ways(bool vnetHdr)
    {
        RequireRoot();
        var iperf = HostTools.Require("iperf3", "iperf3");
        var passt = await FindPasstAsync();
        var dir = HostTools.TempDir();
        var socket = Path.Combine(dir, "passt.sock");
        var ifname = TestNamespace.InterfaceName("ndps");
        var port = HostTools.FreePort();
        await using var ns = await TestNamespace.CreateAsync();

        // passt's own addresses, not the host's (CI's host may have no default route).
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var back = StartPasst(passt, log, "--vhost-user", "--socket", socket, "-f", "--runas", "0:0",
            "-a", "10.0.2.15", "-n", "24", "-g", "10.0.2.2", "--map-host-loopback", "10.0.2.2", "-t", "none", "-u", "none");
        try
        {
            for (var i = 0; i < 100 && !File.Exists(socket); i++)
            {
                await Task.Delay(50, Ct);
            }

            Assert.True(File.Exists(socket), $"passt did not listen: {string.Join('\n', log)}");
            await using var registry = FrontendToBackendTests.NewRegistry();
            // passt binds its socket early and listens only once set up: a reconnecting client
            // waits for it, as QEMU's does (a connect between the two is refused).
            await registry.Chardevs.AddFromCommandLineAsync("c0", TestpmdTests.UnixClient(socket, reconnectMs: 100), Ct);
            var frontend = (VhostUserNetClient)await FrontendToBackendTests.AddAsync(registry, "vhost-user,id=v0,chardev=c0");
            await FrontendToBackendTests.AddAsync(registry, $"tap,id=t0,ifname={ifname},script=no,downscript=no,vnet_hdr={(vnetHdr ? "on" : "off")}");
            await FrontendToBackendTests.AddAsync(registry, "hubport,id=p0,hubid=0,netdev=v0");
            await FrontendToBackendTests.AddAsync(registry, "hubport,id=p1,hubid=0,netdev=t0");
            await ns.AdoptAsync(ifname, "10.0.2.15/24", 65520);
            await ns.CheckAsync("ip", "route", "add", "default", "via", "10.0.2.2");

            // A one-off server on the host's loopback for each direction, reached through passt's gateway.
            var p = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string[] server = [iperf, "-s", "-1", "-B", "127.0.0.1", "-p", p];
            await TapHubTests.IperfAsync(iperf, ns, server, ["-c", "10.0.2.2", "-p", p, "-t", "2", "--connect-timeout", "5000"]);
            await TapHubTests.IperfAsync(iperf, ns, server, ["-c", "10.0.2.2", "-p", p, "-t", "2", "-R", "--connect-timeout", "5000"]);

            // iperf3 does not look at its bytes: a file fetched through the same path must arrive
            // as it left (the 2025-01 snapshot without the fix shifted the guest's stream by 66
            // bytes at every short read, which the checksums, marked valid, did not catch).
            await AssertDownloadIntactAsync(ns, dir);

            Assert.False(frontend.UsingVnetHeader); // passt offers no offloads: the frames reach the tap without headers
            Assert.Equal(0, frontend.DroppedFrames);
        }
        finally
        {
            back.Kill();
            await back.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Serves 8 MiB of random bytes from the host's loopback (busybox httpd) and fetches them in
    /// <paramref name="ns"/> through passt's gateway mapping with curl: the SHA-256 must match.
    /// </summary>
    private static async Task AssertDownloadIntactAsync(TestNamespace ns, string dir)
    {
        var busybox = HostTools.Require("busybox", "busybox-static");
        HostTools.Require("curl", "curl");
        var www = Directory.CreateDirectory(Path.Combine(dir, "www")).FullName;
        var blob = new byte[8 << 20];
        Random.Shared.NextBytes(blob);
        await File.WriteAllBytesAsync(Path.Combine(www, "blob"), blob, Ct);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(blob));
        var port = HostTools.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var httpd = Process.Start(busybox, ["httpd", "-f", "-p", $"127.0.0.1:{port}", "-h", www])!;
        try
        {
            (int ExitCode, string Stdout, string Stderr) got = (1, string.Empty, "not run");
            for (var attempt = 0; attempt < 20; attempt++)
            {
                got = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "ip",
                    ["netns", "exec", ns.Name, "sh", "-c", $"curl -sS --fail --max-time 30 http://10.0.2.2:{port}/blob | sha256sum"]);
                if (!got.Stderr.Contains("Connection refused", StringComparison.Ordinal))
                {
                    break;
                }

                await Task.Delay(100, Ct);
            }

            Assert.True(got.Stderr.Length == 0, $"curl through passt failed: {got.Stderr}");
            Assert.Equal(expected, got.Stdout.Split(' ')[0]);
        }
        finally
        {
            httpd.Kill();
            await httpd.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// A passt with --vhost-user that can be a peer: NETDEVD_PASST, or the one
    /// tools/passt-vhost-user.sh builds (passt 2025-01 from ../shared/peers with upstream's later
    /// fix; the snapshot as it is resets connections now and then, see the script) into a cache
    /// directory; skips with the script's reason when it cannot build one here.
    /// </summary>
    private static async Task<string> FindPasstAsync()
    {
        if (Environment.GetEnvironmentVariable("NETDEVD_PASST") is { Length: > 0 } given)
        {
            return given;
        }

        // The repository's root is five levels above the test assembly (test/PROJECT/bin/CONFIG/TFM).
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var (code, stdout, stderr) = await HostCommand.RunAsync(Path.Combine(root, "tools", "passt-vhost-user.sh"));
        Assert.SkipWhen(code == 2, $"no passt with --vhost-user: Debian's passt (2023) has none; set NETDEVD_PASST, or let tools/passt-vhost-user.sh build one: {stderr.Trim()}");
        var built = stdout.Trim();
        Assert.True(code == 0 && File.Exists(built), $"building passt failed: {stderr}");
        return built;
    }

    /// <summary>Starts passt with its output read as it comes (a full pipe would stop it), kept for failure messages.</summary>
    private static Process StartPasst(string passt, System.Collections.Concurrent.ConcurrentQueue<string> log, params string[] args)
    {
        var start = new ProcessStartInfo(passt)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        process.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
