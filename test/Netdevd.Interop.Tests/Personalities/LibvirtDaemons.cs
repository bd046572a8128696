using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// A private libvirtd (11.3 from bookworm-backports) and, unless one runs already, a virtlogd,
/// started by the test and stopped by their PIDs: libvirtd's sockets, config and pid file live
/// in a directory of the test's own; its PATH starts with a directory whose <c>passt</c> is a
/// symlink to the netdevd built beside the tests, which is therefore what libvirt runs for
/// <c>&lt;backend type='passt'/&gt;</c>. The QEMU driver's own state (/run/libvirt/qemu, the
/// domain logs under /var/log/libvirt/qemu) is the system's, as for any privileged libvirtd: the
/// tests use transient domains with names of their own and remove their logs. Started once for
/// the tests of a class (~2-10 s), on the first test that asks.
/// </summary>
public sealed partial class LibvirtDaemons : IAsyncDisposable
{
    private const string VirtlogdSocket = "/run/libvirt/virtlogd-sock";
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<CapturedProcess> _processes = [];
    private string? _dir;
    private string? _uri;

    /// <summary>The connection URI of the private libvirtd (its socket in the test's directory).</summary>
    public string Uri => _uri ?? throw new InvalidOperationException("not started");

    /// <summary>The directory libvirtd's PATH starts with; its passt is netdevd.</summary>
    public string Bin => Path.Combine(_dir ?? throw new InvalidOperationException("not started"), "bin");

    /// <summary>The resolv.conf libvirtd passes to netdevd (NETDEVD_RESOLV_CONF in its environment): tests write their DNS server here.</summary>
    public string ResolvConf => Path.Combine(_dir ?? throw new InvalidOperationException("not started"), "resolv.conf");

    public string Virsh { get; private set; } = "virsh";

    /// <summary>Skips the calling test when libvirt 11 cannot run here; otherwise starts the daemons once.</summary>
    public async Task StartAsync()
    {
        Assert.SkipUnless(HostTools.IsRoot, "the test runs a privileged libvirtd, which needs root");
        const string Install = "(Debian packages libvirt-daemon-system libvirt-clients from bookworm-backports; ./test.sh installs them as root)";
        var libvirtd = HostTools.Find("libvirtd");
        var virtlogd = HostTools.Find("virtlogd");
        var virsh = HostTools.Find("virsh");
        Assert.SkipWhen(libvirtd is null || virtlogd is null || virsh is null, $"libvirt is not installed {Install}");
        var (_, version, _) = await HostCommand.RunAsync(libvirtd!, "--version");
        var match = VersionPattern().Match(version);
        Assert.SkipUnless(
            match.Success && (int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)).CompareTo((11, 1)) >= 0,
            $"libvirt '{version.Trim()}' has no passt back-end for vhostuser interfaces (Debian 12's 9.0 has passt patched out); 11.1 or later is needed {Install}");
        Virsh = virsh!;

        await _gate.WaitAsync();
        try
        {
            if (_uri is not null)
            {
                return;
            }

            await StartLockedAsync(libvirtd!, virtlogd!);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs virsh against the private libvirtd.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> VirshAsync(params string[] args) =>
        HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(120), Virsh, ["-c", Uri, .. args]);

    /// <summary>What libvirtd and virtlogd printed, for failure messages.</summary>
    public string Output()
    {
        var log = _dir is not null && File.Exists(Path.Combine(_dir, "libvirtd.log")) ? File.ReadAllText(Path.Combine(_dir, "libvirtd.log")) : "";
        return $"--- libvirtd/virtlogd ---\n{string.Join('\n', _processes.Select(p => p.Output))}\n--- libvirtd.log ---\n{log}";
    }

    private async Task StartLockedAsync(string libvirtd, string virtlogd)
    {
        var dir = HostTools.TempDir();
        // libvirt runs passt (and QEMU) as its qemu user: it must reach bin/passt and the files the tests put here.
        File.SetUnixFileMode(dir, (UnixFileMode)0x1ED); // 0755
        _dir = dir;
        var bin = Directory.CreateDirectory(Bin).FullName;
        File.CreateSymbolicLink(Path.Combine(bin, "passt"), Path.Combine(AppContext.BaseDirectory, "netdevd"));
        await File.WriteAllTextAsync(ResolvConf, "nameserver 127.0.0.1\n");
        File.SetUnixFileMode(ResolvConf, (UnixFileMode)0x1A4); // 0644
        var sockets = Directory.CreateDirectory(Path.Combine(dir, "sock")).FullName;
        var config = Path.Combine(dir, "libvirtd.conf");
        await File.WriteAllTextAsync(config, $"""
            unix_sock_dir = "{sockets}"
            auth_unix_rw = "none"
            auth_unix_ro = "none"
            log_outputs = "3:file:{dir}/libvirtd.log"

            """);

        // The QEMU driver logs each domain's stdio, and the command lines it ran, through virtlogd
        // at its fixed socket: one of the system's, if it runs, or ours.
        if (!IsListening(VirtlogdSocket))
        {
            var logd = CapturedProcess.Start(virtlogd, ["-p", Path.Combine(dir, "virtlogd.pid")]);
            _processes.Add(logd);
            for (var i = 0; i < 600 && !IsListening(VirtlogdSocket); i++)
            {
                Assert.False(logd.HasExited, $"virtlogd exited:\n{logd.Output}");
                await Task.Delay(100);
            }
        }

        // A clean environment, as the recipe starts it: libvirtd passes its own on to passt.
        var daemon = CapturedProcess.Start("/usr/bin/env", [
            "-i", $"PATH={bin}:/usr/sbin:/usr/bin:/sbin:/bin", $"NETDEVD_RESOLV_CONF={ResolvConf}",
            libvirtd, "-f", config, "-p", Path.Combine(dir, "libvirtd.pid")]);
        _processes.Add(daemon);
        var uri = $"qemu:///system?socket={sockets}/libvirt-sock";
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (true)
        {
            var (code, _, err) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), Virsh, "-c", uri, "version");
            if (code == 0)
            {
                _uri = uri; // only now: a start that failed is not taken for a running libvirtd by the next test
                return;
            }

            Assert.False(daemon.HasExited, $"libvirtd exited:\n{Output()}");
            Assert.True(DateTime.UtcNow < deadline, $"libvirtd did not answer within 180 s: {err}\n{Output()}");
            await Task.Delay(500);
        }
    }

    private static bool IsListening(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Newest first (libvirtd before virtlogd), each by its PID: SIGTERM for an orderly stop, then SIGKILL.
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            var process = _processes[i];
            if (!process.HasExited)
            {
                _ = await HostCommand.RunAsync("kill", "-TERM", process.Pid.ToString(CultureInfo.InvariantCulture));
                _ = process.WaitForExit(TimeSpan.FromSeconds(30));
            }

            process.Dispose();
        }

        if (_dir is not null && Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }

        _gate.Dispose();
    }

    [GeneratedRegex(@"(\d+)\.(\d+)")]
    private static partial Regex VersionPattern();
}
