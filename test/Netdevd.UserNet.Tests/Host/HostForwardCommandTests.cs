using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
using Netdevd.Tests.Shared;
using Netdevd.UserNet.Config;
using Netdevd.UserNet.Host;

namespace Netdevd.UserNet.Tests.Host;

/// <summary>
/// hostfwd-add and hostfwd-remove on a live user netdev, as a monitor sees them: a host port in
/// use fails the rule with QEMU's text and changes nothing, and a netdev that has closed takes no
/// rule (a monitor racing netdev_del gets what it would have got a moment later).
/// </summary>
public sealed class HostForwardCommandTests
{
    [Theory]
    [InlineData("udp")] // SO_REUSEADDR before bind let the second UDP socket share the port
    [InlineData("tcp")]
    public async Task A_second_forward_of_the_same_host_port_is_refused_with_qemus_text(string protocol)
    {
        var client = Create("u-dup" + protocol, $"{protocol}:127.0.0.1:0-:5353");
        try
        {
            var port = client.HostForwards[0].HostPort;
            var rule = $"{protocol}:127.0.0.1:{port}-:53";
            var e = Assert.Throws<QapiException>(() => client.AddHostForward(rule));
            Assert.Equal($"Could not set up host forwarding rule '{rule}'", e.Message);
            Assert.Single(client.HostForwards);
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_udp_forward_of_a_port_another_program_holds_is_refused()
    {
        // A program that set SO_REUSEADDR on its UDP socket (as resolvers and mDNS responders do):
        // its port is in use, and the rule must not share it.
        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        other.SetRawSocketOption(1, 2, [1, 0, 0, 0]);
        other.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)other.LocalEndPoint!).Port;
        var client = Create("u-taken");
        try
        {
            var rule = $"udp:127.0.0.1:{port}-:53";
            var e = Assert.Throws<QapiException>(() => client.AddHostForward(rule));
            Assert.Equal($"Could not set up host forwarding rule '{rule}'", e.Message);
            Assert.Empty(client.HostForwards);
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>
    /// hostfwd_remove frees a TCP forward's port at once even while a copy of its listener's
    /// descriptor lives (a child forked by any thread of netdevd holds one until its exec, and the
    /// user netdev itself starts smbd): closed alone, the listener kept listening and adding the
    /// rule again failed.
    /// </summary>
    [Fact]
    public async Task A_removed_tcp_forward_frees_its_port_while_a_copy_of_its_descriptor_lives()
    {
        var client = Create("u-copy", "tcp:127.77.0.4:0-:22");
        var copy = -1;
        try
        {
            var port = client.HostForwards[0].HostPort;
            copy = Netdevd.Native.Libc.Dup(ListeningSockets.Descriptor(IPAddress.Parse("127.77.0.4"), (int)port));
            Assert.True(copy >= 0, "dup of the listener failed");
            Assert.True(client.RemoveHostForward($"tcp:127.77.0.4:{port}"));
            client.AddHostForward($"tcp:127.77.0.4:{port}-:22");
            Assert.Single(client.HostForwards);
        }
        finally
        {
            if (copy >= 0)
            {
                Netdevd.Native.Libc.Close(copy);
            }

            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_forward_added_to_a_closed_netdev_is_refused_as_device_not_found()
    {
        var client = Create("u-closed");
        await client.DisposeAsync();

        var e = Assert.Throws<QapiException>(() => client.AddHostForward("tcp:127.0.0.1:0-:22"));
        Assert.Equal(QapiErrorClass.DeviceNotFound, e.ErrorClass);
        Assert.Equal("Device 'u-closed' not found", e.Message);
        Assert.Empty(client.HostForwards);
    }

    [Fact]
    public async Task A_remove_key_with_trailing_text_or_no_port_is_invalid_and_removes_nothing()
    {
        // QEMU 9.1 reads the port with qemu_strtoi(p, NULL, 10): all of it, one number.
        var client = Create("u-keys", "tcp:127.0.0.1:0-:22");
        try
        {
            var port = client.HostForwards[0].HostPort;
            foreach (var key in new[] { "tcp:127.0.0.1:", $"tcp:127.0.0.1:{port}x", $"tcp:127.0.0.1:{port} 1" })
            {
                var e = Assert.Throws<QapiException>(() => client.RemoveHostForward(key));
                Assert.Equal("invalid format", e.Message);
            }

            Assert.Single(client.HostForwards);
            Assert.True(client.RemoveHostForward($"tcp:127.0.0.1:{port}"));
            Assert.Empty(client.HostForwards);
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    private static UserNetClient Create(string name, params string[] forwards)
    {
        var options = new NetdevUserOptions { Ipv6 = false, Hostfwd = [.. forwards.Select(f => new Netdevd.Qapi.Schema.String { Str = f })] };
        return UserNetClient.Create(name, UserNetConfigParser.Parse(options), TimeProvider.System, NullLogger.Instance);
    }
}
