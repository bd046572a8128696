using System.Diagnostics;
using Netdevd.Backends.VhostUser.Frontend;
using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.VhostUser;

/// <summary>
/// netdevd's vhost-user front-end against passt's vhost-user back-end (a current passt: Debian's
/// 2023 build has no --vhost-user; ../shared/peers beside the checkout builds one, or
/// NETDEVD_PASST names one), hubbed to a tap in a namespace: TCP both ways to a server on the
/// host's loopback through passt's NAT. passt sends TCP with DATA_VALID and an empty checksum,
/// which a tap without headers only takes once the front-end has filled the checksum.
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
    /// A passt with --vhost-user: NETDEVD_PASST, the benchmarks' build, or one built from
    /// ../shared/peers into a cache directory; skips with the reason when there is none.
    /// </summary>
    private static async Task<string> FindPasstAsync()
    {
        if (Environment.GetEnvironmentVariable("NETDEVD_PASST") is { Length: > 0 } given)
        {
            return given;
        }

        var cache = Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "netdevd-bench", "passt-2025-01");
        var built = Path.Combine(cache, "passt");
        if (File.Exists(built))
        {
            return built;
        }

        // The repository's root is five levels above the test assembly (test/PROJECT/bin/CONFIG/TFM).
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var script = new[] { Path.Combine(root, "..", "shared", "peers", "build-passt.sh"), Path.Combine(root, "..", "..", "shared", "peers", "build-passt.sh") }
            .FirstOrDefault(File.Exists);
        Assert.SkipWhen(script is null, "no passt with --vhost-user: Debian's passt (2023) has none; set NETDEVD_PASST, or put ../shared/peers (build-passt.sh) beside the checkout");
        HostTools.Require("make", "make");
        HostTools.Require("gcc", "gcc");
        var (code, _, stderr) = await HostCommand.RunAsync(script!, cache);
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
