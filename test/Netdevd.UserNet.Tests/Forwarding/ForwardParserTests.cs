using System.Net;
using Netdevd.Qapi.Errors;
using Netdevd.UserNet.Forwarding;
using Netdevd.UserNet.Nat;
using Netdevd.Wire;

namespace Netdevd.UserNet.Tests.Forwarding;

public sealed class ForwardParserTests
{
    private static readonly Ipv4Address DhcpStart = Ipv4Address.Create(10, 0, 2, 15);

    [Theory]
    [InlineData("bogus", "No : separators")]
    [InlineData("icmp::1-:2", "Bad protocol name")]
    [InlineData("tcp:1", "Missing : separator")]
    [InlineData("tcp:1.2.3.x:1-:2", "Bad host address")]
    [InlineData("tcp::22", "Bad host port separator")]
    [InlineData("tcp::-:22", "Bad host port")]
    [InlineData("tcp::65536-:22", "Bad host port")]
    [InlineData("tcp::22-", "Missing guest address")]
    [InlineData("tcp::22-nowhere:22", "Bad guest address")]
    [InlineData("tcp::22-:0", "Bad guest port")]
    [InlineData("tcp::22-:", "Bad guest port")]
    [InlineData("udp::22-:65536", "Bad guest port")]
    public void Host_forward_errors_have_QEMUs_reasons(string rule, string reason)
    {
        var e = Assert.Throws<QapiException>(() => HostForwardParser.Parse(rule, DhcpStart));
        Assert.Equal($"Invalid host forwarding rule '{rule}' ({reason})", e.Message);
    }

    [Fact]
    public void Host_forward_defaults_and_c_numbers()
    {
        var r = HostForwardParser.Parse("::0x10-:022", DhcpStart);
        Assert.False(r.Udp);
        Assert.Equal(IPAddress.Any, r.HostAddress);
        Assert.Equal(16, r.HostPort);
        Assert.Equal(IPAddress.Parse("10.0.2.15"), r.GuestAddress);
        Assert.Equal(18, r.GuestPort); // octal, as strtol base 0

        r = HostForwardParser.Parse("udp:127.0.0.1:0-10.0.2.20:53junk", DhcpStart);
        Assert.True(r.Udp);
        Assert.Equal(0, r.HostPort);
        Assert.Equal(IPAddress.Parse("10.0.2.20"), r.GuestAddress);
        Assert.Equal(53, r.GuestPort); // trailing text after the number is ignored, as in QEMU
    }

    [Theory]
    [InlineData("tcp:[::1]:2222-[fec0::15]:22", "::1", 2222, "fec0::15", 22)]
    [InlineData("udp:[::]:5353-:53", "::", 5353, "10.0.2.15", 53)]
    [InlineData("tcp:[::1]:2222-10.0.2.16:22", "::1", 2222, "10.0.2.16", 22)]
    [InlineData("tcp:127.0.0.1:2222-[fec0::15]:0x16", "127.0.0.1", 2222, "fec0::15", 22)]
    public void Host_forwards_take_bracketed_ipv6_addresses_on_either_side(string rule, string host, int hostPort, string guest, int guestPort)
    {
        var r = HostForwardParser.Parse(rule, DhcpStart);
        Assert.Equal(IPAddress.Parse(host), r.HostAddress);
        Assert.Equal(hostPort, r.HostPort);
        Assert.Equal(IPAddress.Parse(guest), r.GuestAddress);
        Assert.Equal(guestPort, r.GuestPort);
    }

    [Theory]
    [InlineData("tcp:[::1:2222-:22", "Bad host address")]
    [InlineData("tcp:[::1]2222-:22", "Bad host address")]
    [InlineData("tcp:[1.2.3.4]:2222-:22", "Bad host address")]
    [InlineData("tcp:[fe80::1%1]:2222-:22", "Bad host address")]
    [InlineData("tcp:[]:2222-:22", "Bad host address")]
    [InlineData("tcp:::1:2222-:22", "Bad host port")]
    [InlineData("tcp:[::1]:2222-[fec0::zz]:22", "Bad guest address")]
    [InlineData("tcp:[::1]:2222-[fec0::15]", "Missing guest address")]
    [InlineData("tcp:[::1]:2222-[fec0::15]:0", "Bad guest port")]
    public void Bad_ipv6_forwards_get_QEMUs_reasons(string rule, string reason)
    {
        var e = Assert.Throws<QapiException>(() => HostForwardParser.Parse(rule, DhcpStart));
        Assert.Equal($"Invalid host forwarding rule '{rule}' ({reason})", e.Message);
    }

    [Fact]
    public void Remove_keys_take_bracketed_ipv6_addresses()
    {
        var (udp, address, port) = HostForwardParser.ParseKey("udp:[::1]:5353");
        Assert.True(udp);
        Assert.Equal(IPAddress.IPv6Loopback, address);
        Assert.Equal(5353, port);
        Assert.Equal("invalid format", Assert.Throws<QapiException>(() => HostForwardParser.ParseKey("tcp:[::zz]:1")).Message);
    }

    [Theory]
    [InlineData("tcp::2222")]
    [InlineData("udp:127.0.0.1:53")]
    [InlineData(":10.0.0.1:80")]
    public void Remove_keys_parse(string key) => HostForwardParser.ParseKey(key);

    [Theory]
    [InlineData("nonsense")]
    [InlineData("icmp::1")]
    [InlineData("tcp:bad:1")]
    public void Bad_remove_keys_are_invalid_format(string key) =>
        Assert.Equal("invalid format", Assert.Throws<QapiException>(() => HostForwardParser.ParseKey(key)).Message);

    [Theory]
    [InlineData("bad")]
    [InlineData("udp:10.0.2.4:80-cmd:cat")]
    [InlineData("tcp:10.0.2.x:80-cmd:cat")]
    [InlineData("tcp:10.0.2.4:80x-cmd:cat")]
    [InlineData("tcp:10.0.2.4:0-cmd:cat")]
    [InlineData("tcp:10.0.2.4:80")]
    public void Guest_forward_syntax_errors_echo_the_rule(string rule) =>
        Assert.Equal($"Invalid guest forwarding rule '{rule}'",
            Assert.Throws<QapiException>(() => GuestForwardParser.Parse(rule, new UserStackOptions(), [])).Message);

    [Fact]
    public void Guest_forward_targets_defaults_and_conflicts()
    {
        var options = new UserStackOptions();
        var cmd = GuestForwardParser.Parse("tcp::5000-cmd:cat -u", options, []);
        Assert.Equal(Ipv4Address.Create(10, 0, 2, 4), cmd.Server);
        Assert.Equal("cat -u", Assert.IsType<HostTarget.Command>(cmd.Target).CommandLine);

        var tcp = GuestForwardParser.Parse(":10.0.2.100:80-tcp:127.0.0.1:4321", options, [cmd]);
        var device = Assert.IsType<HostTarget.Device>(tcp.Target);
        Assert.Equal(4321, Assert.IsType<IPEndPoint>(device.Address).Port);
        Assert.Equal("guestfwd.tcp.80", device.Name);
        Assert.Equal("127.0.0.1:4321", device.Display);
        var unix = Assert.IsType<HostTarget.Device>(GuestForwardParser.Parse("tcp:10.0.2.101:80-unix:/tmp/x.sock", options, []).Target);
        Assert.Equal("/tmp/x.sock", unix.Display);
        Assert.IsType<System.Net.Sockets.UnixDomainSocketEndPoint>(unix.Address);

        Assert.Equal("Could not open guest forwarding device 'guestfwd.tcp.81'",
            Assert.Throws<QapiException>(() => GuestForwardParser.Parse("tcp:10.0.2.4:81-file:/x", options, [])).Message);
        foreach (var rule in new[] { "tcp::5000-cmd:cat", "tcp:10.0.2.2:80-cmd:cat", "tcp:10.0.2.3:80-cmd:cat", "tcp:192.168.1.1:80-cmd:cat" })
        {
            Assert.Equal($"Conflicting/invalid host:port in guest forwarding rule '{rule}'",
                Assert.Throws<QapiException>(() => GuestForwardParser.Parse(rule, options, [cmd])).Message);
        }
    }

    // Found by fuzzing (netdev-opts): a unix: device path the socket address cannot hold threw
    // .NET's ArgumentOutOfRangeException (a stack trace on the command line) instead of QEMU's
    // chardev error, and an empty one (unix:,opts) an ArgumentException.
    [Fact]
    public void A_unix_device_path_too_long_for_a_socket_address_fails_as_qemu_s_chardev()
    {
        // QEMU refuses a path that leaves no room for sun_path's terminating NUL (108 bytes or more).
        var path = "/" + new string('p', 107);
        var e = Assert.Throws<QapiException>(() => GuestForwardParser.Parse($"tcp:10.0.2.101:80-unix:{path}", new UserStackOptions(), []));
        Assert.Equal("Could not open guest forwarding device 'guestfwd.tcp.80'", e.Message);
        Assert.Equal($"UNIX socket path '{path}' is too long\nPath must be less than 108 bytes", e.PrecedingReport);

        var longest = "/" + new string('p', 106);
        var device = Assert.IsType<HostTarget.Device>(GuestForwardParser.Parse($"tcp:10.0.2.101:80-unix:{longest}", new UserStackOptions(), []).Target);
        Assert.Equal(longest, device.Display);

        Assert.Equal("Could not open guest forwarding device 'guestfwd.tcp.82'",
            Assert.Throws<QapiException>(() => GuestForwardParser.Parse("tcp:10.0.2.101:82-unix:,server=off", new UserStackOptions(), [])).Message);
    }
}
