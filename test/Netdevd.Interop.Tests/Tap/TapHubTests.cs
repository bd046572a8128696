using System.Diagnostics;
using Netdevd.Interop.Tests.Harness;
using static Netdevd.Interop.Tests.Tap.TapTestKit;

namespace Netdevd.Interop.Tests.Tap;

/// <summary>
/// Two namespaces, each with a netdevd tap, joined by a netdevd hub: the kernel on both sides
/// talks through netdevd (ping both ways, an iperf3 run), with and without virtio-net headers.
/// </summary>
public sealed class TapHubTests
{
    [Theory]
    [InlineData(1500, true)]
    [InlineData(1500, false)]
    [InlineData(65520, true)]
    [InlineData(65520, false)]
    public async Task Namespaces_talk_through_a_hub(int mtu, bool vnetHdr)
    {
        RequireRoot();
        var iperf = HostTools.Require("iperf3", "iperf3");
        HostTools.Require("ping", "iputils-ping");
        await using var nsA = await TestNamespace.CreateAsync();
        await using var nsB = await TestNamespace.CreateAsync();
        await using var registry = NewRegistry();
        var (a, b) = await HubTwoTapsAsync(registry, nsA, nsB, mtu, vnetHdr);

        // Headers go end to end exactly when both taps have them (the hub passes them through).
        Assert.Equal(vnetHdr, a.UsingVnetHeader);
        Assert.Equal(vnetHdr, b.UsingVnetHeader);

        await nsA.CheckAsync("ping", "-c", "2", "-w", "10", "10.201.0.2");
        await nsB.CheckAsync("ping", "-c", "2", "-w", "10", "10.201.0.1");

        // Large pings cross as one frame at the big MTU and fragment at the small one.
        await nsA.CheckAsync("ping", "-c", "1", "-w", "10", "-s", (mtu - 28).ToString(System.Globalization.CultureInfo.InvariantCulture), "10.201.0.2");

        await IperfAsync(iperf, nsA, nsB, "10.201.0.2", streams: 1);
        // (Write errors are expected: the kernel refuses frames with EIO while the far tap is still down.)
        Assert.Equal(0, a.Counters.OffloadDrops + b.Counters.OffloadDrops);
    }

    [Fact]
    public async Task Two_queues_serve_in_parallel()
    {
        RequireRoot();
        var iperf = HostTools.Require("iperf3", "iperf3");
        HostTools.Require("ping", "iputils-ping");
        await using var nsA = await TestNamespace.CreateAsync();
        await using var nsB = await TestNamespace.CreateAsync();
        await using var registry = NewRegistry();
        var (a, b) = await HubTwoTapsAsync(registry, nsA, nsB, 1500, vnetHdr: null, queues: 2, subnet: "10.204.0");
        Assert.Equal(2, a.QueueCount);
        Assert.Equal(2, b.QueueCount);
        Assert.Contains("multi_queue", await nsA.CheckAsync("ip", "-d", "link", "show", a.IfName), StringComparison.Ordinal);

        await nsA.CheckAsync("ping", "-c", "2", "-w", "10", "10.204.0.2");
        await nsB.CheckAsync("ping", "-c", "2", "-w", "10", "10.204.0.1");
        await IperfAsync(iperf, nsA, nsB, "10.204.0.2", streams: 4);
    }

    internal static Task IperfAsync(string iperf, TestNamespace client, TestNamespace server, string address, int streams) =>
        IperfAsync(iperf, client, ["ip", "netns", "exec", server.Name, iperf, "-s", "-1"], ["-c", address, "-t", "2", "-P", streams.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>
    /// One iperf3 run: a one-off server started by <paramref name="serverCommand"/> (in a
    /// namespace or on the host), the client in <paramref name="client"/> with
    /// <paramref name="clientArgs"/>; a run each, so no run finds the server still busy with the last.
    /// </summary>
    internal static async Task IperfAsync(string iperf, TestNamespace client, string[] serverCommand, string[] clientArgs)
    {
        var psi = new ProcessStartInfo(serverCommand[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in serverCommand[1..])
        {
            psi.ArgumentList.Add(a);
        }

        using var serverProcess = Process.Start(psi)!;
        try
        {
            // The server listens within a moment; the client retries its connect for a few seconds.
            (int ExitCode, string Stdout, string Stderr) result = default;
            for (var attempt = 0; attempt < 20; attempt++)
            {
                result = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), "ip", ["netns", "exec", client.Name, iperf, .. clientArgs]);
                if (result.ExitCode == 0 || !result.Stderr.Contains("Connection refused", StringComparison.Ordinal))
                {
                    break;
                }

                await Task.Delay(200);
            }

            Assert.True(result.ExitCode == 0, $"iperf3 failed: {result.Stderr}{result.Stdout}");
            Assert.Contains("receiver", result.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (!serverProcess.HasExited)
            {
                serverProcess.Kill(entireProcessTree: true);
            }

            await serverProcess.WaitForExitAsync();
        }
    }
}
