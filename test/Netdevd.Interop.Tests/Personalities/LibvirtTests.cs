using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using Netdevd.Interop.Tests.Guest;
using Netdevd.Interop.Tests.Harness;
using Netdevd.Interop.Tests.Tap;
using Netdevd.Interop.Tests.VhostUser;

namespace Netdevd.Interop.Tests.Personalities;

/// <summary>
/// The real client: libvirt 11.3 (bookworm-backports) starts netdevd as the <c>passt</c> in its
/// PATH for a TCG domain with <c>&lt;backend type='passt'/&gt;</c> and a <c>&lt;portForward&gt;</c>.
/// The domain (Debian's kernel, the busybox initramfs of the guest VM tests) gets DHCP, resolves
/// through 10.0.2.3, downloads from a server on the host and serves the download on port 80,
/// which the host fetches through the forwarded port; <c>virsh destroy</c> leaves no netdevd
/// behind. Then the same with <c>&lt;interface type='vhostuser'&gt;</c> and QEMU 10 (shared memfd
/// memory, as libvirt requires for vhost-user). The passt command line libvirt ran, from the
/// domain's log, goes to the test output.
/// </summary>
public sealed class LibvirtTests(LibvirtDaemons libvirt, ITestOutputHelper output) : IClassFixture<LibvirtDaemons>
{
    private const string DnsAddress = "192.0.2.79";
    private const string PasstRunDir = "/run/libvirt/qemu/passt";
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public Task User_interface_with_passt_backend_runs_a_domain_on_netdevd() => RunAsync(vhostUser: false);

    [Fact]
    public Task Vhostuser_interface_with_passt_backend_runs_a_domain_on_netdevd() => RunAsync(vhostUser: true);

    /// <summary>
    /// An option libvirt passes that netdevd cannot honour (here <c>&lt;source dev&gt;</c>'s --interface:
    /// passt copies that interface's addresses and routes, netdevd keeps its own addressing) fails
    /// the start with netdevd's message in libvirt's error, and leaves no daemon, pid file or socket.
    /// </summary>
    [Fact]
    public async Task A_refused_option_fails_the_start_with_netdevds_message_and_leaves_nothing()
    {
        var qemu = HostTools.Require("qemu-system-x86_64", "qemu-system-x86");
        var kernel = GuestKernel.Find();
        Assert.SkipWhen(kernel is null, "no Debian kernel with its modules (package linux-image-amd64; ./test.sh installs it as root)");
        await libvirt.StartAsync();

        var dir = HostTools.TempDir();
        File.SetUnixFileMode(dir, (UnixFileMode)0x1FF);
        var name = $"nd-lv-if-{Path.GetFileName(dir)[3..]}";
        var domainLog = $"/var/log/libvirt/qemu/{name}.log";
        var started = false;
        try
        {
            var image = Path.Combine(dir, "vmlinuz");
            File.Copy(kernel!.Image, image);
            var initrd = Path.Combine(dir, "initrd.gz");
            await File.WriteAllBytesAsync(initrd, []);
            var xml = Path.Combine(dir, "domain.xml");
            await File.WriteAllTextAsync(xml, DomainXml(
                name, vhostUser: false, qemu, image, initrd, Path.Combine(dir, "console.log"), Path.Combine(dir, "passt.log"), HostTools.FreePort(), "<source dev='lo'/>"));

            var (code, stdout, stderr) = await libvirt.VirshAsync("create", xml);
            started = code == 0;
            output.WriteLine($"libvirt ran: {PasstCommandLine(domainLog)}");
            output.WriteLine($"virsh create: exit {code}: {stderr.Trim()}");
            Assert.True(code != 0, $"the domain started with --interface: {stdout}");
            // libvirt 11.3: "internal error: Child process (passt ...) unexpected exit status 1: " and passt's stderr.
            Assert.Contains("unexpected exit status 1: passt: --interface is not supported by netdevd's passt personality", stderr, StringComparison.Ordinal);
            Assert.Empty(Directory.Exists(PasstRunDir) ? Directory.GetFiles(PasstRunDir, $"*-{name}-*") : []);
        }
        finally
        {
            if (started)
            {
                _ = await libvirt.VirshAsync("destroy", name);
            }

            File.Delete(domainLog);
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task RunAsync(bool vhostUser)
    {
        Qemu10? qemu10 = null;
        if (vhostUser)
        {
            qemu10 = Qemu10.Find(out var why);
            Assert.SkipWhen(qemu10 is null, why);
        }

        var systemQemu = vhostUser ? null : HostTools.Require("qemu-system-x86_64", "qemu-system-x86");
        var dnsmasq = HostTools.Require("dnsmasq", "dnsmasq-base");
        var curl = HostTools.Require("curl", "curl");
        var busybox = StaticBusybox.Require();
        var kernel = GuestKernel.Find();
        Assert.SkipWhen(kernel is null, "no Debian kernel with its modules (package linux-image-amd64; ./test.sh installs it as root)");
        await libvirt.StartAsync();
        var clock = Stopwatch.StartNew();

        var dir = HostTools.TempDir();
        File.SetUnixFileMode(dir, (UnixFileMode)0x1FF); // 0777: passt (its log file) and QEMU run as libvirt's qemu user
        var name = $"nd-lv-{(vhostUser ? "vu" : "u")}-{Path.GetFileName(dir)[3..]}";
        var domainLog = $"/var/log/libvirt/qemu/{name}.log";
        var processes = new List<CapturedProcess>();
        var defined = false;
        int? passtPid = null;
        try
        {
            var host = await GuestHostServices.StartAsync(dir, processes, dnsmasq, busybox, DnsAddress, 1 << 20);
            // netdevd's DNS forwarder reads the resolv.conf libvirtd's environment names.
            await File.WriteAllTextAsync(libvirt.ResolvConf, host.ResolvConf);

            // A copy of the kernel: libvirt gives the files of a domain to its qemu user while it
            // runs, and this one is the test's own, not /boot's.
            var image = Path.Combine(dir, "vmlinuz");
            File.Copy(kernel!.Image, image);
            var initrd = Path.Combine(dir, "initrd.gz");
            _ = GuestInitramfs.Write(initrd, busybox, kernel, GuestHostServices.DnsName, host.HttpPort, GuestHostServices.PayloadFile, serveSeconds: 900);
            var console = Path.Combine(dir, "console.log");
            var passtLog = Path.Combine(dir, "passt.log");
            var forwarded = HostTools.FreePort();
            var emulator = vhostUser ? await WriteQemu10WrapperAsync(dir, qemu10!) : systemQemu!;
            var xml = Path.Combine(dir, "domain.xml");
            await File.WriteAllTextAsync(xml, DomainXml(name, vhostUser, emulator, image, initrd, console, passtLog, forwarded));

            var (code, stdout, stderr) = await libvirt.VirshAsync("create", xml);
            defined = code == 0;
            Assert.True(code == 0, $"virsh create: {stderr}{stdout}\n{DomainLog(domainLog)}\n{libvirt.Output()}");
            output.WriteLine($"virsh create returned after {clock.Elapsed.TotalSeconds:F1} s");

            // What libvirt ran, from the domain's log ("Starting external device: passt" and the command).
            var commandLine = PasstCommandLine(domainLog);
            output.WriteLine($"libvirt ran: {commandLine}");
            Assert.True(commandLine is not null, $"no passt command line in the domain log:\n{DomainLog(domainLog)}");
            Assert.StartsWith("passt ", commandLine, StringComparison.Ordinal);
            Assert.Contains("--one-off", commandLine, StringComparison.Ordinal);
            Assert.Contains($"--tcp-ports {forwarded}:80", commandLine, StringComparison.Ordinal);
            Assert.Equal(vhostUser, commandLine.Contains("--vhost-user", StringComparison.Ordinal));

            // The daemon libvirt keeps track of (its pid file) is our netdevd.
            var pidFile = Directory.GetFiles(PasstRunDir, $"*-{name}-net0-passt.pid").SingleOrDefault();
            Assert.True(pidFile is not null, $"no passt pid file for {name} in {PasstRunDir}");
            var socket = pidFile[..^"-passt.pid".Length] + ".socket";
            passtPid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
            Assert.Equal(Netdevd(), Executable(passtPid.Value));
            output.WriteLine($"passt daemon: pid {passtPid}, {Cmdline(passtPid.Value)}");
            // logFile='...': libvirt's only view of passt once it runs in the background.
            Assert.True(await WaitForFileAsync(passtLog, $"serving {socket}", TimeSpan.FromSeconds(60)), $"the passt log file holds:\n{ReadShared(passtLog)}");

            var serving = await WaitForFileAsync(console, $"{GuestInitramfs.Marker} serving=80", GuestTimeout);
            string Context() => $"--- console ---\n{ReadShared(console)}\n--- passt log ---\n{ReadShared(passtLog)}\n{DomainLog(domainLog)}";
            Assert.True(serving, $"the guest did not get to serving within {GuestTimeout.TotalSeconds} s\n{Context()}");
            output.WriteLine($"guest serving after {clock.Elapsed.TotalSeconds:F1} s");
            // The serial console ends its lines with CR LF.
            var results = GuestVmTests.Results(ReadShared(console).Replace("\r", "", StringComparison.Ordinal));
            Assert.True(results.GetValueOrDefault("ip") == "10.0.2.15", Context());
            Assert.True(results.GetValueOrDefault("ping") == "ok", Context());
            Assert.True(results.GetValueOrDefault("resolved") == DnsAddress, Context());
            var sha = Convert.ToHexStringLower(SHA256.HashData(host.Payload));
            Assert.True(results.GetValueOrDefault("sha256") == sha, Context());

            // The <portForward> libvirt turned into --tcp-ports: host port -> guest port 80.
            var fetched = Path.Combine(dir, "fetched.bin");
            var (curlCode, _, curlError) = await HostCommand.RunWithTimeoutAsync(TimeSpan.FromSeconds(60), curl, "-s", "--max-time", "40", "-o", fetched, $"http://127.0.0.1:{forwarded}/payload");
            Assert.True(curlCode == 0, $"curl through the forwarded port: {curlError}\n{Context()}");
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(fetched))));

            // virsh destroy: libvirt ends QEMU and passt (SIGTERM by the pid file); nothing of ours stays.
            (code, stdout, stderr) = await libvirt.VirshAsync("destroy", name);
            Assert.True(code == 0, $"virsh destroy: {stderr}{stdout}");
            defined = false;
            var gone = false;
            for (var i = 0; i < 300 && !gone; i++)
            {
                gone = !Directory.Exists($"/proc/{passtPid}");
                if (!gone)
                {
                    await Task.Delay(100);
                }
            }

            Assert.True(gone, $"passt (pid {passtPid}) still runs after virsh destroy\n{Context()}");
            passtPid = null;
            var left = OurDaemonsServing(socket);
            Assert.True(left.Count == 0, $"netdevd still serves {socket}: pid(s) {string.Join(", ", left)}");
            Assert.False(File.Exists(pidFile), $"{pidFile} is left");
            Assert.False(File.Exists(socket), $"{socket} is left");
            output.WriteLine($"destroyed, no netdevd left, after {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            if (defined)
            {
                _ = await libvirt.VirshAsync("destroy", name);
            }

            for (var i = processes.Count - 1; i >= 0; i--)
            {
                processes[i].Dispose();
            }

            if (passtPid is { } pid && Directory.Exists($"/proc/{pid}") && Executable(pid) == Netdevd())
            {
                // Ours: the netdevd libvirt started for this test's domain, named by its pid file.
                using var daemon = Process.GetProcessById(pid);
                daemon.Kill();
            }

            File.Delete(domainLog);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string DomainXml(string name, bool vhostUser, string emulator, string kernel, string initrd, string console, string passtLog, int forwarded, string interfaceExtra = "") => $"""
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>256</memory>
          {(vhostUser ? "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>" : "")}
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>{kernel}</kernel>
            <initrd>{initrd}</initrd>
            <cmdline>{GuestKernel.CommandLine}</cmdline>
          </os>
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>destroy</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <emulator>{emulator}</emulator>
            <interface type='{(vhostUser ? "vhostuser" : "user")}'>
              <backend type='passt' logFile='{passtLog}'/>
              <portForward proto='tcp'>
                <range start='{forwarded}' to='80'/>
              </portForward>
              <model type='virtio'/>
              {interfaceExtra}
            </interface>
            <serial type='file'>
              <source path='{console}'/>
              <target port='0'/>
            </serial>
            <memballoon model='none'/>
          </devices>
        </domain>

        """;

    /// <summary>
    /// libvirt runs the emulator it is given with its own machine options: the wrapper adds only
    /// QEMU 10's module directory (never Debian 7.2's from /usr/lib) and firmware directories.
    /// </summary>
    private static async Task<string> WriteQemu10WrapperAsync(string dir, Qemu10 qemu10)
    {
        var wrapper = Path.Combine(dir, "qemu10");
        var exports = string.Join('\n', qemu10.Environment.Select(e => $"export {e.Key}='{e.Value}'"));
        var firmware = string.Join(' ', qemu10.FirmwareArguments.Select(a => $"'{a}'"));
        await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\n{exports}\nexec '{qemu10.Binary}' {firmware} \"$@\"\n");
        File.SetUnixFileMode(wrapper, (UnixFileMode)0x1ED); // 0755: libvirt probes it as its qemu user
        return wrapper;
    }

    /// <summary>The line after libvirt's "Starting external device: passt" in the domain's log.</summary>
    private static string? PasstCommandLine(string domainLog)
    {
        var lines = ReadShared(domainLog).Split('\n');
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (lines[i].EndsWith("Starting external device: passt", StringComparison.Ordinal))
            {
                return lines[i + 1].Trim();
            }
        }

        return null;
    }

    private static string DomainLog(string path) => $"--- {path} ---\n{ReadShared(path)}";

    private static string ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "(none)";
        }
    }

    /// <summary>Waits until the file (the serial console, a log) holds <paramref name="text"/>.</summary>
    private static async Task<bool> WaitForFileAsync(string path, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!ReadShared(path).Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(250);
        }

        return true;
    }

    private static string Netdevd() => Path.Combine(AppContext.BaseDirectory, "netdevd");

    private static string? Executable(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/exe").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Cmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "(gone)";
        }
    }

    /// <summary>Processes running this build's netdevd whose command line names <paramref name="socket"/>: only the ones libvirt started for our domain.</summary>
    private static List<int> OurDaemonsServing(string socket)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Executable(pid) == Netdevd()
                && Cmdline(pid).Contains(socket, StringComparison.Ordinal))
            {
                found.Add(pid);
            }
        }

        return found;
    }
}
