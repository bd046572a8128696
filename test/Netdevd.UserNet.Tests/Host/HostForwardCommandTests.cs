using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Schema;
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
