using System.Net;
using System.Security.Cryptography;
using Netdevd.Interop.Tests.Harness;

namespace Netdevd.Interop.Tests.User;

/// <summary>
/// Downloads into a guest with a 65520-byte link and virtio-net headers on the tap, as podman
/// and rootlesskit run it: every segment then leaves the TCP send ring in pieces (headers built
/// apart, the payload written to the tap straight from the ring, where it wraps and grows), so
/// the bytes the guest receives are checked, two flows at once, over both families.
/// </summary>
[Collection("user-netdev")]
public sealed class LargeSegmentDownloadTests
{
    private const int Size = 24 << 20;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_concurrent_downloads_arrive_intact(bool ipv6)
    {
        HostTools.Require("curl", "curl");
        await using var rig = await UserNetRig.StartAsync("", mtu: 65520, vnetHeader: true);
        string target;
        IPAddress loopback;
        if (ipv6)
        {
            await rig.GuestAsync($"sysctl -qw net.ipv6.conf.{rig.Tap}.accept_ra=0");
            await rig.ConfigureStaticIpv6Async();
            target = "[fec0::2]";
            loopback = IPAddress.IPv6Loopback;
        }
        else
        {
            await rig.DhcpAsync();
            target = "10.0.2.2";
            loopback = IPAddress.Loopback;
        }

        var bodies = new[] { RandomNumberGenerator.GetBytes(Size), RandomNumberGenerator.GetBytes(Size) };
        var ports = new[] { HostTools.FreePort(), HostTools.FreePort() };
        using var first = NamespaceListener.Listen(rig.HostNs, new IPEndPoint(loopback, ports[0]));
        using var second = NamespaceListener.Listen(rig.HostNs, new IPEndPoint(loopback, ports[1]));
        var served = Task.WhenAll(Ipv6NatInteropTests.ServeOnceAsync(first, bodies[0]), Ipv6NatInteropTests.ServeOnceAsync(second, bodies[1]));

        var curl = $"curl {(ipv6 ? "-6" : "-4")} -sS --max-time 60";
        var (status, output) = await rig.GuestAsync(
            $"{{ {curl} http://{target}:{ports[0]}/ | sha256sum > /tmp/nd-dl-a.$$ & {curl} http://{target}:{ports[1]}/ | sha256sum > /tmp/nd-dl-b.$$ & wait; }}; " +
            "cat /tmp/nd-dl-a.$$ /tmp/nd-dl-b.$$; rm -f /tmp/nd-dl-a.$$ /tmp/nd-dl-b.$$",
            TimeSpan.FromSeconds(90));
        Assert.True(status == 0, output);
        await served;
        var sums = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, sums.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bodies[0])), sums[0].Split(' ')[0]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bodies[1])), sums[1].Split(' ')[0]);
    }
}
