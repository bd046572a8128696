using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Backends.Bridge;
using Netdevd.Backends.Tap;
using Netdevd.Backends.Tests.Dgram;
using Netdevd.Core.Hubs;
using Netdevd.Core.Registry;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;

namespace Netdevd.Backends.Tests.Tap;

/// <summary>net_init_tap's checks, in QEMU's order and with its texts; none of them touches the system.</summary>
public sealed class TapValidationTests
{
    public static TheoryData<string, NetdevTapOptions> Invalid => new()
    {
        { "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with fd=", new NetdevTapOptions { Fd = "3", Ifname = "x" } },
        { "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with fd=", new NetdevTapOptions { Fd = "3", Fds = "4" } },
        { "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid with fds=", new NetdevTapOptions { Fds = "3:4", Queues = 2 } },
        { "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid with fds=", new NetdevTapOptions { Fds = "3:4", Vhostfd = "5" } },
        { "The number of fds passed does not match the number of vhostfds passed", new NetdevTapOptions { Fds = "3:4", Vhostfds = "5" } },
        { "ifname=, script=, downscript=, vnet_hdr=, queues=, and vhostfds= are invalid with helper=", new NetdevTapOptions { Helper = "/bin/false", Script = "no" } },
        { "vhostfds= is invalid if fds= wasn't specified", new NetdevTapOptions { Vhostfds = "5" } },
        { "vhostfd(s)= is not valid without vhost", new NetdevTapOptions { Vhost = false, Vhostfd = "5" } },
        { "Parameter 'queues' expects a value of at least 1", new NetdevTapOptions { Queues = 0, Script = "no" } },
        { "Invalid file descriptor number 'x'", new NetdevTapOptions { Fd = "x" } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task Bad_options_give_QEMUs_text(string expected, NetdevTapOptions options)
    {
        await using var registry = Registry();
        var e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(Tap("t0", options), NetdevOrigin.Monitor, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(expected, e.Message);
        Assert.Empty(registry.Snapshot());
    }

    [Theory]
    [InlineData(true, null, false)]
    [InlineData(null, "5", false)]
    [InlineData(null, null, true)]
    public async Task Vhost_is_refused_clearly(bool? vhost, string? vhostfd, bool force)
    {
        await using var registry = Registry();
        var options = new NetdevTapOptions { Vhost = vhost, Vhostfd = vhostfd, Vhostforce = force ? true : null, Script = "no" };
        var e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(Tap("t0", options), NetdevOrigin.Monitor, cancellationToken: TestContext.Current.CancellationToken));
        Assert.StartsWith("vhost-net requested but could not be initialized: netdevd has no guest memory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Descriptor_that_is_not_a_tap_is_refused_and_closed()
    {
        var fd = Native.Libc.Open("/dev/null", Native.Libc.O_RDWR);
        Assert.True(fd >= 0);
        Netdevd.Backends.Sockets.GrantedDescriptors.Grant(fd);
        await using var registry = Registry();
        var e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(Tap("t0", new NetdevTapOptions { Fd = fd.ToString(System.Globalization.CultureInfo.InvariantCulture) }), NetdevOrigin.Monitor, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal($"Unable to query TUNGETIFF on FD {fd}: Inappropriate ioctl for device", e.Message);

        // QEMU closes the descriptor it was given when it refuses it. Proved on a socket pair: the
        // other end sees the hang-up only once every copy of this end is closed. (Testing the
        // number itself would race with other tests opening descriptors meanwhile.)
        Assert.True(Native.Libc.SocketPair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0, out var given, out var watcher));
        Netdevd.Backends.Sockets.GrantedDescriptors.Grant(given);
        try
        {
            var again = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(Tap("t1", new NetdevTapOptions { Fd = given.ToString(System.Globalization.CultureInfo.InvariantCulture) }), NetdevOrigin.Monitor, cancellationToken: TestContext.Current.CancellationToken));
            Assert.StartsWith($"Unable to query TUNGETIFF on FD {given}: ", again.Message, StringComparison.Ordinal);
            Span<Native.PollFd> poll = [new Native.PollFd { Fd = watcher, Events = Native.Libc.POLLIN }];
            Assert.Equal(1, Native.Libc.Poll(poll, 5000));
            Assert.NotEqual(0, poll[0].Revents & Native.Libc.POLLHUP);
        }
        finally
        {
            Native.Libc.Close(watcher);
        }
    }

    [Fact]
    public async Task Failing_bridge_helper_says_so()
    {
        await using var registry = Registry();
        var bridge = new Netdev { Id = "b0", Type = NetClientDriver.Bridge, Bridge = new NetdevBridgeOptions { Helper = "/bin/false" } };
        var e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(bridge, NetdevOrigin.Monitor, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("bridge helper failed", e.Message);

        var missing = Tap("t1", new NetdevTapOptions { Helper = "/nonexistent/helper" });
        e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(missing, NetdevOrigin.Monitor, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("bridge helper failed", e.Message);

        // An empty helper is a program that cannot be run, as in QEMU (execv("") fails): not .NET's
        // "Cannot start process because a file name has not been provided" as an internal error.
        foreach (var empty in new[] { Tap("t2", new NetdevTapOptions { Helper = "" }), new Netdev { Id = "b2", Type = NetClientDriver.Bridge, Bridge = new NetdevBridgeOptions { Helper = "" } } })
        {
            e = await Assert.ThrowsAsync<QapiException>(() => registry.AddAsync(empty, NetdevOrigin.Monitor, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal("bridge helper failed", e.Message);
        }
    }

    [Fact]
    public void Helper_with_a_space_runs_through_the_shell()
    {
        var plain = BridgeHelper.Command("/usr/lib/qemu/qemu-bridge-helper", "br9", "--fd=7");
        Assert.Equal("/usr/lib/qemu/qemu-bridge-helper", plain.FileName);
        Assert.Equal(["--use-vnet", "--fd=7", "--br=br9"], plain.ArgumentList);

        var shell = BridgeHelper.Command("sudo helper --br=x", "br9", "--fd=7");
        Assert.Equal("/bin/sh", shell.FileName);
        Assert.Equal(["-c", "sudo helper --br=x --use-vnet --fd=7 "], shell.ArgumentList);
    }

    private static NetdevRegistry Registry() =>
        new([new TapNetdevFactory(), new BridgeNetdevFactory(), new HubportNetdevFactory()], new NullEventSink(), NullLoggerFactory.Instance);

    private static Netdev Tap(string id, NetdevTapOptions options) => new() { Id = id, Type = NetClientDriver.Tap, Tap = options };
}
