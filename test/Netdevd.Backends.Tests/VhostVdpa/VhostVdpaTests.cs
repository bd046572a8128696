using Netdevd.Backends.L2tpv3;
using Netdevd.Backends.VhostVdpa;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.Backends.Tests.L2tpv3;

namespace Netdevd.Backends.Tests.VhostVdpa;

/// <summary>vhost-vdpa answers as a Linux QEMU (which always has it built in), check by check.</summary>
public sealed class VhostVdpaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NetdevRegistry NewRegistry() =>
        new([new VhostVdpaNetdevFactory()], new SilentEvents(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

    private static Netdev Vdpa(string? dev, string? fd, bool? svq = null) =>
        new() { Id = "v0", Type = NetClientDriver.VhostVdpa, VhostVdpa = new NetdevVhostVDPAOptions { Vhostdev = dev, Vhostfd = fd, XSvq = svq } };

    [Theory]
    [InlineData(null, null, "vhost-vdpa: neither vhostdev= nor vhostfd= was specified")]
    [InlineData("/dev/null", "3", "vhost-vdpa: vhostdev= and vhostfd= are mutually exclusive")]
    [InlineData("/nonexistent/vhost-vdpa-0", null, "Could not open '/nonexistent/vhost-vdpa-0': No such file or directory")]
    [InlineData("/dev/null", null, "Fail to query features from vhost-vDPA device: Inappropriate ioctl for device")]
    [InlineData(null, "abc", "vhost-vdpa: unable to parse vhostfd: Invalid file descriptor number 'abc'")]
    [InlineData(null, "-1", "vhost-vdpa: unable to parse vhostfd: Invalid file descriptor number '-1'")]
    public async Task Each_check_fails_with_QEMUs_text(string? dev, string? fd, string message)
    {
        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Vdpa(dev, fd), NetdevOrigin.CommandLineModern, null, Ct));
        Assert.Equal(message, e.Message);
        Assert.Empty(r.Snapshot());
    }

    [Fact]
    public async Task A_real_vdpa_device_is_used_when_the_kernel_offers_one()
    {
        // vdpa_sim_net + vhost_vdpa give /dev/vhost-vdpa-N; Debian's cloud kernels here have neither module.
        var dev = Directory.Exists("/dev") ? Directory.GetFiles("/dev", "vhost-vdpa-*").FirstOrDefault() : null;
        Assert.SkipWhen(dev is null, "no vDPA device: the kernel has no vdpa_sim_net/vhost_vdpa modules (modprobe fails), so the real-device path cannot run here");
        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(Vdpa(dev, null), NetdevOrigin.CommandLineModern, null, Ct));
        Assert.StartsWith("vhost-vdpa: this build of netdevd cannot drive", e.Message, StringComparison.Ordinal);
    }
}
