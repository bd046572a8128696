namespace Netdevd.Daemon.Tests;

/// <summary>
/// Command lines a careless script or a hostile user may give: every one ends with QEMU's kind
/// of report (<c>netdevd: ...: MESSAGE</c>, status 1), QEMU's own text where QEMU has one, and
/// never a .NET stack trace or an abort.
/// </summary>
public sealed class HostileCommandLineTests
{
    /// <summary>A path of 150 bytes: past sun_path's 108.</summary>
    private static readonly string LongPath = "/tmp/" + new string('p', 145);

    /// <summary>Another, for a directory that must never be created.</summary>
    private static readonly string LongDirectory = "/tmp/" + new string('r', 145);

    private static readonly string LongQmp = $"unix:{LongPath},server=on,wait=off";

    private const string TooLongHint = "Path must be less than 108 bytes";

    private const string NotPassed = "was not passed to netdevd: leave it open (not close-on-exec) when starting netdevd, or pass it with getfd";

    /// <summary>Arguments, then the first line expected on stderr (null: any line starting "netdevd: "), then the second (or null).</summary>
    public static TheoryData<string[], string?, string?> Cases => new()
    {
        { ["--io-threads", "99999999999"], "netdevd: --io-threads must be between 0 and 256.", null },
        { ["--io-threads", "abc"], "netdevd: --io-threads must be between 0 and 256.", null },
        { ["--io-threads", ""], "netdevd: --io-threads must be between 0 and 256.", null },
        { ["--io-threads", "-1"], "netdevd: --io-threads must be between 0 and 256.", null },
        { ["--bogus"], null, null },
        { ["@/etc/hostname"], null, null },
        { ["--qmp", LongQmp], $"netdevd: -qmp {LongQmp}: UNIX socket path '{LongPath}' is too long", TooLongHint },
        { ["--qmp", ""], null, null },
        { ["--qmp", "tcp:127.0.0.1:99999999999,server=on,wait=off"], null, null },
        { ["--runtime-dir", LongDirectory], $"netdevd: --runtime-dir {LongDirectory}: UNIX socket path '{LongDirectory}/qmp.sock' is too long", TooLongHint },
        { ["--runtime-dir", ""], null, null },
        { ["--runtime-dir", "/proc/self/nonexistent/dir"], null, null },
        { ["-netdev", $"user,id=u,guestfwd=tcp:10.0.2.100:7000-unix:{LongPath}"], $"netdevd: -netdev user,id=u,guestfwd=tcp:10.0.2.100:7000-unix:{LongPath}: UNIX socket path '{LongPath}' is too long", TooLongHint },
        { ["-netdev", $"dgram,id=d,local.type=unix,local.path={LongPath},remote.type=unix,remote.path=/tmp/x"], $"netdevd: -netdev dgram,id=d,local.type=unix,local.path={LongPath},remote.type=unix,remote.path=/tmp/x: UNIX socket path '{LongPath}' is too long", null },
        { ["-netdev", $"vde,id=v,sock={LongPath}"], null, null },
        { ["-netdev", "tap,id=t,fd=99999999999"], "netdevd: -netdev tap,id=t,fd=99999999999: Invalid file descriptor number '99999999999'", null },
        { ["-netdev", "tap,id=t,fd=3"], $"netdevd: -netdev tap,id=t,fd=3: File descriptor '3' {NotPassed}", null },
        { ["-netdev", "tap,id=t,fds=3:4"], $"netdevd: -netdev tap,id=t,fds=3:4: File descriptor '3' {NotPassed}", null },
        { ["-netdev", "socket,id=s,fd=4"], $"netdevd: -netdev socket,id=s,fd=4: File descriptor '4' {NotPassed}", null },
        { ["-netdev", "socket,id=s,fd=2"], "netdevd: -netdev socket,id=s,fd=2: File descriptor '2' is netdevd's standard error, not a descriptor for a netdev", null },
        { ["-netdev", "stream,id=s,addr.type=fd,addr.str=5"], $"netdevd: -netdev stream,id=s,addr.type=fd,addr.str=5: File descriptor '5' {NotPassed}", null },
        { ["-netdev", "dgram,id=d,local.type=fd,local.str=6"], $"netdevd: -netdev dgram,id=d,local.type=fd,local.str=6: File descriptor '6' {NotPassed}", null },
        { ["-netdev", "hubport,id=h,hubid=99999999999"], null, null },
        { ["-netdev", "tap,id=t,queues=99999999999"], null, null },
        { ["-netdev", "user,id=u,hostfwd=tcp::99999999999-:22"], null, null },
        { ["-netdev", "l2tpv3,id=l,src=127.0.0.1,dst=127.0.0.1,txsession=99999999999,rxsession=1"], null, null },
        { ["-netdev", "hubport,id=a\uFFFD,hubid=0"], null, null },
        { ["-netdev", ""], null, null },
        { ["run", "--mtu", "99999999999"], "netdevd: --mtu must be between 68 and 65535.", null },
        { ["run", "--pid", "-1"], "netdevd: --pid must be between 1 and 2147483647.", null },
        { ["run", "--pid", "x"], "netdevd: --pid must be between 1 and 2147483647.", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Prints_one_QEMU_style_line_and_exits_1(string[] args, string? first, string? second)
    {
        var dir = Directory.CreateTempSubdirectory("nd-").FullName;
        try
        {
            // A monitor of its own keeps the default setup (and its sockets) out of the way.
            string[] all = args is ["run", ..] || args.Contains("--qmp") || args.Contains("--runtime-dir")
                ? args
                : [.. args, "--qmp", $"unix:{dir}/q.sock,server=on,wait=off"];
            var (code, _, stderr) = await DaemonProcess.RunAsync(all);

            Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("internal error", stderr, StringComparison.Ordinal);
            Assert.Equal(1, code);
            Assert.StartsWith("netdevd: ", stderr, StringComparison.Ordinal);
            var lines = stderr.Split('\n');
            if (first is not null)
            {
                Assert.Equal(first, lines[0].TrimEnd('\r'));
            }

            if (second is not null)
            {
                Assert.Equal(second, lines[1].TrimEnd('\r'));
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
