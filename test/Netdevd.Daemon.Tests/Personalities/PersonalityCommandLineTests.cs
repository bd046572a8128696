using System.Net;
using Netdevd.Personalities;
using Netdevd.Personalities.Passt;
using Netdevd.Personalities.Pasta;
using Netdevd.Personalities.Slirp4netns;

namespace Netdevd.Daemon.Tests.Personalities;

/// <summary>The personalities' command lines: every getopt_long form callers use, and clear refusals for the rest.</summary>
public sealed class PersonalityCommandLineTests
{
    [Fact]
    public void Slirp4netns_takes_podmans_and_rootlesskits_command_lines()
    {
        var podman = Slirp4netnsCommandLine.Parse(
            ["--disable-host-loopback", "--mtu=65520", "--enable-sandbox", "--enable-seccomp", "--enable-ipv6", "-c", "-e", "3", "-r", "4", "--api-socket", "/run/x.net", "--netns-type=path", "/run/netns/n1", "tap0"], out _)!;
        Assert.True(podman.EnableSandbox && podman.EnableSeccomp);
        Assert.Equal("/run/netns/n1", podman.NetnsPath);
        Assert.Null(podman.TargetPid);
        Assert.Equal((65520, true, true, true, 3, 4), (podman.Mtu, podman.DisableHostLoopback, podman.EnableIpv6, podman.Configure, podman.ExitFd!.Value, podman.ReadyFd!.Value));
        Assert.Equal(IPAddress.Parse("10.0.2.100"), podman.GuestAddress);

        var rootlesskit = Slirp4netnsCommandLine.Parse(["--mtu", "65520", "-r", "3", "--api-socket", "/tmp/s", "1234", "tap0"], out _)!;
        Assert.Equal("/proc/1234/ns/net", rootlesskit.NetnsPath);
        Assert.Equal(1234, rootlesskit.TargetPid);
        Assert.False(rootlesskit.Configure);

        // Clustered flags, attached short values, unambiguous long prefixes, options after operands.
        var compact = Slirp4netnsCommandLine.Parse(["-c6", "-m1400", "42", "--cidr=192.168.7.9/24", "--disable-host"], out _)!;
        Assert.Equal((true, true, 1400), (compact.Configure, compact.EnableIpv6, compact.Mtu));
        Assert.Equal(IPAddress.Parse("192.168.7.0"), compact.Network);
        Assert.Equal(IPAddress.Parse("192.168.7.2"), compact.HostAddress);
        Assert.True(compact.DisableHostLoopback);
    }

    [Theory]
    [InlineData("slirp4netns: --outbound-addr is not supported by netdevd's slirp4netns personality", "--outbound-addr=10.0.0.1", "1")]
    [InlineData("slirp4netns: MTU must be a positive integer (< 65522), got '65522'", "--mtu=65522", "1")]
    [InlineData("slirp4netns: MTU must be a positive integer (< 65522), got 'x'", "-m", "x", "1")]
    [InlineData("slirp4netns: PID must be a positive integer, got 'abc' (use --netns-type=path for a path)", "abc")]
    [InlineData("slirp4netns: expected PID|PATH [TAPNAME], got 0 operand(s) (see --help)", "-c")]
    [InlineData("slirp4netns: expected PID|PATH [TAPNAME], got 3 operand(s) (see --help)", "1", "tap0", "extra")]
    [InlineData("slirp4netns: unrecognized option '--bogus'", "--bogus", "1")]
    [InlineData("slirp4netns: option '--dis' is ambiguous", "--dis", "1")]
    [InlineData("slirp4netns: invalid option -- 'z'", "-z", "1")]
    [InlineData("slirp4netns: option '-e' requires an argument", "1", "-e")]
    [InlineData("slirp4netns: option '--configure' doesn't allow an argument", "--configure=yes", "1")]
    [InlineData("slirp4netns: --macaddress can only be used with -c", "--macaddress=02:00:00:00:00:01", "1")]
    [InlineData("slirp4netns: --netns-type must be 'pid' or 'path', got 'file'", "--netns-type=file", "1")]
    [InlineData("slirp4netns: --cidr=10.0.2.0/26: expected an IPv4 network such as 10.0.2.0/24 (prefix at most /25, the guest is network+100)", "--cidr=10.0.2.0/26", "1")]
    [InlineData("slirp4netns: --exit-fd must be a file descriptor number, got '-1'", "--exit-fd=-1", "1")]
    public void Slirp4netns_refuses_with_a_clear_message(string message, params string[] args)
    {
        var e = Assert.Throws<PersonalityUsageException>(() => Slirp4netnsCommandLine.Parse(args, out _));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Passt_takes_libvirts_command_line_and_port_specs()
    {
        var passt = PasstCommandLine.Parse(
            ["--one-off", "--socket", "/run/p.sock", "--pid", "/run/p.pid", "--log-file", "/tmp/l", "--tcp-ports", "18080:80", "-t", "127.0.0.1/2000-2002,~2001", "-u", "5353", "--address", "192.168.9.50", "--netmask", "255.255.255.0", "-H", "vm1"], out _)!;
        Assert.True(passt.OneOff);
        Assert.Equal(
            ["tcp::18080-:80", "tcp:127.0.0.1:2000-:2000", "tcp:127.0.0.1:2002-:2002", "udp::5353-:5353"],
            passt.Forwards.Select(f => f.ToHostfwd()));
        var user = PasstRunner.UserOptions(passt);
        Assert.Equal(("192.168.9.0/24", "192.168.9.2", "192.168.9.3", "192.168.9.50", "vm1"), (user.Net, user.Host, user.Dns, user.Dhcpstart, user.Hostname));

        // --mtu: told to the guest by the user netdev's DHCP and RA; 0 or none: not told.
        Assert.Equal(9000u, PasstRunner.UserOptions(PasstCommandLine.Parse(["--mtu", "9000"], out _)!).Mtu);
        Assert.Null(PasstRunner.UserOptions(PasstCommandLine.Parse(["-m", "0"], out _)!).Mtu);
        Assert.Null(user.Mtu);

        // The guest on .2: the gateway and DNS move aside.
        var onTwo = PasstRunner.UserOptions(PasstCommandLine.Parse(["-a", "10.9.0.2", "-n", "16"], out _)!);
        Assert.Equal(("10.9.0.0/16", "10.9.0.1", "10.9.0.3"), (onTwo.Net, onTwo.Host, onTwo.Dns));
    }

    [Fact]
    public void Pasta_serves_both_families_unless_told_and_the_later_of_4_and_6_wins()
    {
        static Netdevd.Qapi.Schema.NetdevUserOptions User(string[] args, out Netdevd.Run.Ipv4Setup? v4, out Netdevd.Run.Ipv6Setup? v6) =>
            PastaAddressing.UserOptions(PastaCommandLine.Parse([.. args, "--netns", "/run/netns/n1"], out _)!, hostHasIpv6: true, out v4, out v6);

        // Both said: ipv4=on alone would be QEMU's IPv4-only (the namespace got no IPv6 that way).
        var both = User(["--config-net", "-t", "8080", "-t", "127.0.0.1/9090:90"], out var v4, out var v6);
        Assert.Equal((true, true, "fd00::", "fd00::2", "fd00::3"), (both.Ipv4, both.Ipv6, both.Ipv6Prefix, both.Ipv6Host, both.Ipv6Dns));
        Assert.Equal(("10.0.2.15", "fd00::15/64 via fe80::2"), (v4!.Address.ToString(), $"{v6!.Address}/{v6.PrefixLength} via {v6.Gateway}"));
        // A port without an address listens for both families, each to the namespace's address of its family.
        Assert.Equal(["tcp::8080-:8080", "tcp:[::]:8080-[fd00::15]:8080", "tcp:127.0.0.1:9090-:90"], both.Hostfwd!.Select(h => h.Str));

        var only4 = User(["-6", "-4", "-t", "8080"], out v4, out v6);
        Assert.Equal((true, false, "10.0.2.0/24"), (only4.Ipv4, only4.Ipv6, only4.Net));
        Assert.Null(v6);
        Assert.Equal(["tcp::8080-:8080"], only4.Hostfwd!.Select(h => h.Str));

        var only6 = User(["-4", "--ipv6-only", "-t", "8080", "--dns-forward", "fd01::53"], out v4, out v6);
        Assert.Equal((false, true, null, null, "fd01::53"), (only6.Ipv4, only6.Ipv6, only6.Net, only6.Dns, only6.Ipv6Dns));
        Assert.Null(v4);
        Assert.Equal(["tcp:[::]:8080-[fd00::15]:8080"], only6.Hostfwd!.Select(h => h.Str));

        // A kernel without IPv6: IPv4 alone, as pasta.
        Assert.False(PastaAddressing.UserOptions(PastaCommandLine.Parse(["--netns", "/run/netns/n1"], out _)!, hostHasIpv6: false, out _, out v6).Ipv6);
        Assert.Null(v6);
    }

    [Fact]
    public void Passt_takes_libvirts_vhost_user_command_line()
    {
        // libvirt's <interface type='vhostuser'><backend type='passt'/>: the socket-mode line plus --vhost-user.
        var passt = PasstCommandLine.Parse(
            ["--one-off", "--socket", "/run/p.sock", "--pid", "/run/p.pid", "--log-file", "/tmp/l", "--tcp-ports", "18080:80", "--vhost-user"], out _)!;
        Assert.True(passt.VhostUser);
        Assert.True(passt.OneOff);
        Assert.Equal("/run/p.sock", passt.SocketPath);
        Assert.Equal(["tcp::18080-:80"], passt.Forwards.Select(f => f.ToHostfwd()));
        Assert.False(PasstCommandLine.Parse(["--socket", "/run/p.sock"], out _)!.VhostUser);
        Assert.Contains("--vhost-user", PasstCommandLine.HelpText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("passt: invalid port specifier for -t 'all': 'all' (every port) is not supported by netdevd: it binds one socket per port; give the ports", "-t", "all")]
    [InlineData("passt: invalid port specifier for -t '~22': exclusions alone mean every other port, which netdevd does not support; give the ports", "-t", "~22")]
    [InlineData("passt: invalid port specifier for -t '0': '0' is not a port number", "-t", "0")]
    [InlineData("passt: invalid port specifier for -t '10-20:30-31': '10-20:30-31': the host and guest ranges differ in size", "-t", "10-20:30-31")]
    [InlineData("passt: invalid port specifier for -u '9-5': '9-5': the range ends before it starts", "-u", "9-5")]
    [InlineData("passt: invalid port specifier for -t '%eth0/22': binding to an interface (%DEV) is not supported by netdevd", "-t", "%eth0/22")]
    [InlineData("passt: invalid port specifier for -t '1-5000': more than 4096 forwarded ports", "-t", "1-5000")]
    [InlineData("passt: --mtu 67: must be 0 or 68 to 65520", "--mtu", "67")]
    [InlineData("passt: --fd is not supported by netdevd's passt personality", "--fd", "3")]
    [InlineData("passt: Invalid netmask: 255.0.255.0", "-n", "255.0.255.0")]
    [InlineData("passt: Invalid netmask: 64", "-n", "64")]
    [InlineData("passt: Invalid address: ::1", "-a", "::1")]
    [InlineData("passt: Invalid address: 10.2", "-a", "10.2")]
    [InlineData("passt: Invalid gateway address: ::1", "-g", "::1")]
    [InlineData("passt: Invalid address to remap to host: ::1", "--map-guest-addr", "::1")]
    [InlineData("passt: Invalid address to remap to host: 127.0.0.1", "--map-host-loopback", "127.0.0.1")]
    [InlineData("passt: unexpected argument 'extra'", "extra")]
    public void Passt_refuses_with_a_clear_message(string message, params string[] args)
    {
        var e = Assert.Throws<PersonalityUsageException>(() => PasstCommandLine.Parse(args, out _));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Help_and_version_are_answered_not_parsed_further()
    {
        Assert.Null(Slirp4netnsCommandLine.Parse(["--help", "-c"], out var help));
        Assert.Contains("--netns-type=TYPE", help, StringComparison.Ordinal);
        Assert.Null(PasstCommandLine.Parse(["--version"], out var version));
        Assert.StartsWith("passt (netdevd 0.", version, StringComparison.Ordinal);
    }
}
