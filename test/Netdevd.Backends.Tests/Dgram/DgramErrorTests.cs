using System.Net;
using Netdevd.Backends.Sockets;
using Netdevd.Core.Registry;
using Netdevd.Native;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using static Netdevd.Backends.Tests.Dgram.DgramTestKit;

namespace Netdevd.Backends.Tests.Dgram;

/// <summary>Every refusal of net_init_dgram, with QEMU's text, in QEMU's order, creating nothing.</summary>
public sealed class DgramErrorTests
{
    private static async Task<string> Refused(Netdev netdev, Netdevd.Qapi.Commands.IMonitorFdStore? monitor = null)
    {
        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(netdev, NetdevOrigin.Monitor, monitor, Ct));
        Assert.Equal(QapiErrorClass.GenericError, e.ErrorClass);
        Assert.Empty(r.Snapshot());
        return e.Message;
    }

    [Fact]
    public async Task Nothing_given() =>
        Assert.Equal("dgram requires local= parameter", await Refused(DgramNetdev("d0", null, null)));

    [Fact]
    public async Task Unicast_remote_only() =>
        Assert.Equal("dgram requires local= parameter", await Refused(DgramNetdev("d0", null, Inet("127.0.0.1", "1234"))));

    [Fact]
    public async Task Unix_remote_only() =>
        Assert.Equal("dgram requires local= parameter", await Refused(DgramNetdev("d0", null, Unix("/tmp/x"))));

    [Fact]
    public async Task Remote_with_local_fd() =>
        Assert.Equal("don't set remote with local.fd", await Refused(DgramNetdev("d0", Fd("3"), Unix("/tmp/x"))));

    [Fact]
    public async Task Mixed_types() =>
        Assert.Equal("remote and local types must be the same", await Refused(DgramNetdev("d0", Inet("127.0.0.1", "1"), Unix("/tmp/x"))));

    [Fact]
    public async Task Inet_local_without_remote() =>
        Assert.Equal("type=inet or type=unix requires remote parameter", await Refused(DgramNetdev("d0", Inet("127.0.0.1", "1"), null)));

    [Fact]
    public async Task Unix_local_without_remote() =>
        Assert.Equal("type=inet or type=unix requires remote parameter", await Refused(DgramNetdev("d0", Unix("/tmp/x"), null)));

    [Fact]
    public async Task Vsock_pair() =>
        Assert.Equal("only support inet or fd type for local", await Refused(DgramNetdev("d0", Vsock(), Vsock())));

    [Fact]
    public async Task Bad_remote_host_comes_before_the_missing_local() =>
        Assert.Equal("host address '1.2.3.999' is not a valid IPv4 address", await Refused(DgramNetdev("d0", null, Inet("1.2.3.999", "1"))));

    [Fact]
    public async Task Bad_local_port() =>
        Assert.Equal("port number 'x' is invalid", await Refused(DgramNetdev("d0", Inet("127.0.0.1", "x"), Inet("127.0.0.1", "1"))));

    [Fact]
    public async Task Bind_to_an_address_not_ours() =>
        Assert.Equal(
            "can't bind ip=192.0.2.199 to socket: Cannot assign requested address",
            await Refused(DgramNetdev("d0", Inet("192.0.2.199", "0"), Inet("127.0.0.1", "1"))));

    [Fact]
    public async Task Multicast_localaddr_must_be_a_literal() =>
        Assert.Equal("localaddr 'abc' is not a valid IPv4 address", await Refused(DgramNetdev("d0", Inet("abc", "0"), Inet("239.255.1.2", "1234"))));

    [Fact]
    public async Task Multicast_local_unix() =>
        Assert.Equal("only support inet or fd type for local", await Refused(DgramNetdev("d0", Unix("/tmp/x"), Inet("239.255.1.2", "1234"))));

    [Fact]
    public async Task Multicast_local_fd_name_on_the_command_line()
    {
        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(DgramNetdev("d0", Fd("myfd"), Inet("239.255.1.2", "1234")), NetdevOrigin.CommandLineModern, null, Ct));
        Assert.Equal("Invalid file descriptor number 'myfd'", e.Message);
    }

    [Fact]
    public async Task Multicast_local_fd_fails_as_in_QEMU_9_1_and_consumes_the_descriptor()
    {
        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM, 0);
        Assert.True(fd >= 0);
        var message = await Refused(DgramNetdev("d0", Fd(fd.ToString(System.Globalization.CultureInfo.InvariantCulture)), Inet("239.255.1.2", "1234")));
        Assert.Equal("port number '(null)' is invalid", message);
    }

    [Fact]
    public async Task Unix_path_too_long()
    {
        var path = "/tmp/" + new string('p', 110);
        Assert.Equal($"UNIX socket path '{path}' is too long", await Refused(DgramNetdev("d0", Unix(path), Unix("/tmp/r"))));
    }

    [Fact]
    public async Task Unix_remote_path_too_long()
    {
        var dir = TempDir();
        var path = "/tmp/" + new string('r', 103);
        Assert.Equal($"UNIX socket path '{path}' is too long", await Refused(DgramNetdev("d0", Unix(Path.Combine(dir, "l")), Unix(path))));
    }

    [Fact]
    public async Task Unix_local_path_that_cannot_be_unlinked()
    {
        var dir = TempDir();
        Assert.Equal($"failed to unlink socket {dir}: Is a directory", await Refused(DgramNetdev("d0", Unix(dir), Unix("/tmp/r"))));
    }

    [Fact]
    public async Task Unix_bind_failure()
    {
        var path = "/nonexistent-dir-nd/l.sock";
        Assert.Equal($"can't bind unix={path} to socket: No such file or directory", await Refused(DgramNetdev("d0", Unix(path), Unix("/tmp/r"))));
    }

    [Theory]
    [InlineData("12x")]
    [InlineData("-1")]
    [InlineData("99999999999")]
    public async Task Fd_number_invalid(string text)
    {
        await using var r = NewRegistry();
        var e = await Assert.ThrowsAsync<QapiException>(() => r.AddAsync(DgramNetdev("d0", Fd(text), null), NetdevOrigin.CommandLineModern, null, Ct));
        Assert.Equal($"Invalid file descriptor number '{text}'", e.Message);
    }

    [Fact]
    public async Task Fd_name_unknown_to_the_monitor() =>
        Assert.Equal("File descriptor named 'nope' has not been found", await Refused(DgramNetdev("d0", Fd("nope"), null), new FakeMonitorFds([])));

    [Fact]
    public async Task Fd_not_open() =>
        Assert.Equal("d0: Can't use file descriptor 99999: Bad file descriptor", await Refused(DgramNetdev("d0", Fd("99999"), null)));

    [Fact]
    public async Task Fd_not_a_socket()
    {
        var path = Path.Combine(TempDir(), "file");
        File.WriteAllText(path, "x");
        using var file = File.OpenHandle(path);
        var fd = Libc.Dup((int)file.DangerousGetHandle());
        Assert.Equal(
            "Unable to query local socket address: Socket operation on non-socket",
            await Refused(DgramNetdev("d0", Fd(fd.ToString(System.Globalization.CultureInfo.InvariantCulture)), null)));
    }

    [Fact]
    public void Multicast_helper_refuses_a_unicast_group()
    {
        var e = Assert.Throws<QapiException>(() => MulticastSockets.Create(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 5), null));
        Assert.Equal("specified mcastaddr 10.0.0.1 (0x0a000001) does not contain a multicast address", e.Message);
    }

    [Fact]
    public void Multicast_join_on_a_foreign_interface_address()
    {
        var e = Assert.Throws<QapiException>(() => MulticastSockets.Create(new IPEndPoint(RandomGroup(), FreeUdpPort()), IPAddress.Parse("192.0.2.199")));
        Assert.StartsWith("can't add socket to multicast group 239.255.", e.Message, StringComparison.Ordinal);
        Assert.EndsWith(": No such device", e.Message, StringComparison.Ordinal);
    }
}
