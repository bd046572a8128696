using Netdevd.Core.Registry;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using static Netdevd.Interop.Tests.Dgram.DgramInteropKit;

namespace Netdevd.Interop.Tests.Dgram;

/// <summary>The same -netdev dgram argument given to QEMU and to netdevd fails with the same text.</summary>
public sealed class DgramErrorParityTests
{
    [Theory]
    [InlineData("dgram,id=d0")]
    [InlineData("dgram,id=d0,remote.type=inet,remote.host=127.0.0.1,remote.port=1234")]
    [InlineData("dgram,id=d0,remote.type=unix,remote.path=/tmp/nd-x")]
    [InlineData("dgram,id=d0,local.type=fd,local.str=3,remote.type=unix,remote.path=/tmp/nd-x")]
    [InlineData("dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=1,remote.type=unix,remote.path=/tmp/nd-x")]
    [InlineData("dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=1")]
    [InlineData("dgram,id=d0,local.type=vsock,local.cid=2,local.port=1,remote.type=vsock,remote.cid=2,remote.port=1")]
    [InlineData("dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=x,remote.type=inet,remote.host=127.0.0.1,remote.port=1")]
    [InlineData("dgram,id=d0,remote.type=inet,remote.host=1.2.3.999,remote.port=1")]
    [InlineData("dgram,id=d0,local.type=inet,local.host=192.0.2.199,local.port=0,remote.type=inet,remote.host=127.0.0.1,remote.port=1")]
    [InlineData("dgram,id=d0,local.type=inet,local.host=abc,local.port=0,remote.type=inet,remote.host=239.255.1.2,remote.port=1234")]
    [InlineData("dgram,id=d0,local.type=unix,local.path=/tmp/nd-x,remote.type=inet,remote.host=239.255.1.2,remote.port=1234")]
    [InlineData("dgram,id=d0,local.type=fd,local.str=abc")]
    [InlineData("dgram,id=d0,local.type=fd,local.str=9999")]
    [InlineData("dgram,id=d0,local.type=unix,local.path=/nonexistent-nd/l,remote.type=unix,remote.path=/tmp/nd-x")]
    public async Task Same_text_as_QEMU(string spec)
    {
        var (exitCode, stderr) = await QemuForwarder.ProbeNetdevsAsync([spec]);
        Assert.NotEqual(0, exitCode);
        var qemuText = stderr.Trim().Split('\n')[0];

        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(NetdevSpecParser.Parse(spec), NetdevOrigin.CommandLineModern, null, Ct));

        Assert.Equal(qemuText, $"qemu-system-x86_64: -netdev {spec}: {e.Message}");
    }
}
